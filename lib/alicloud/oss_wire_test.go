package alicloud_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testStore(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		c      *cloud
		st     *alicloud.Store
		ctx    = context.Background()
	)
	it.Before(func() {
		c = newCloud(t)
		source := c.source()
		source.Prefix = "light-stemcells/"
		st = c.store(source)
	})

	it("puts, heads, gets and deletes objects whose names need encoding", func() {
		for _, name := range []string{"plain.txt", "dir/with space+plus%25?#.yml", "unicode/ubuntu-noble-éø.json", "a//double"} {
			body := []byte("content of " + name)
			_, err := st.Put(ctx, name, body, alicloud.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"stage": "candidate"}})
			Expect(err).NotTo(HaveOccurred(), name)
			info, err := st.Head(ctx, name)
			Expect(err).NotTo(HaveOccurred(), name)
			Expect(info.Size).To(Equal(int64(len(body))))
			Expect(info.Metadata).To(HaveKeyWithValue("stage", "candidate"))
			got, _, err := st.Get(ctx, name)
			Expect(err).NotTo(HaveOccurred(), name)
			Expect(got).To(Equal(body))
			Expect(st.Delete(ctx, name)).To(Succeed())
			exists, err := st.Exists(ctx, name)
			Expect(err).NotTo(HaveOccurred())
			Expect(exists).To(BeFalse(), name)
		}
		Expect(st.Delete(ctx, "never-was")).To(Succeed(), "deleting what is not there is fine")
	})

	it("round-trips JSON records and reports a missing one as not found", func() {
		type record struct {
			Version string            `json:"version"`
			Images  map[string]string `json:"images"`
		}
		_, err := st.PutJSON(ctx, "records/1.484.json", record{Version: "1.484", Images: map[string]string{"cn-hangzhou": "m-1"}})
		Expect(err).NotTo(HaveOccurred())
		var got record
		_, err = st.GetJSON(ctx, "records/1.484.json", &got)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Images).To(HaveKeyWithValue("cn-hangzhou", "m-1"))

		_, err = st.GetJSON(ctx, "records/9.json", &got)
		Expect(alicloud.IsNotFound(err)).To(BeTrue())
		Expect(err).To(MatchError(ContainSubstring("oss://" + testBucket + "/light-stemcells/records/9.json")))
		Expect(err).To(MatchError(ContainSubstring("NoSuchKey")))
	})

	it("lists every page, relative to the prefix", func() {
		const n = 1234
		names := make(chan string, n)
		for i := 0; i < n; i++ {
			names <- strings.Repeat("0", 4-len(strconv.Itoa(i))) + strconv.Itoa(i)
		}
		close(names)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for name := range names {
					_, err := st.Put(ctx, "many/"+name, []byte(name), alicloud.PutOptions{})
					Expect(err).NotTo(HaveOccurred())
				}
			}()
		}
		wg.Wait()
		_, err := st.Put(ctx, "other/x", []byte("x"), alicloud.PutOptions{})
		Expect(err).NotTo(HaveOccurred())

		before := c.calls("oss", "ListObjectsV2")
		listed, err := st.List(ctx, "many/")
		Expect(err).NotTo(HaveOccurred())
		Expect(listed).To(HaveLen(n))
		Expect(listed[0].Name).To(Equal("many/0000"))
		Expect(listed[n-1].Name).To(Equal("many/1233"))
		Expect(c.calls("oss", "ListObjectsV2")-before).To(Equal(2), "1,234 keys take two pages of 1,000")
	})

	it("creates an object only if absent, with exactly one winner among racers", func() {
		created, err := st.CreateIfAbsent(ctx, "locks/env", []byte("first"), alicloud.PutOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(created).To(BeTrue())
		created, err = st.CreateIfAbsent(ctx, "locks/env", []byte("second"), alicloud.PutOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(created).To(BeFalse())
		body, _, err := st.Get(ctx, "locks/env")
		Expect(err).NotTo(HaveOccurred())
		Expect(string(body)).To(Equal("first"))

		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				created, err := st.CreateIfAbsent(ctx, "locks/race", []byte(strconv.Itoa(i)), alicloud.PutOptions{})
				Expect(err).NotTo(HaveOccurred())
				if created {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		Expect(winners).To(Equal(1))
	})

	it("publishes an object for anonymous reads at its stable URL", func() {
		_, err := st.Put(ctx, "light-bosh-stemcell.tgz", []byte("tarball"), alicloud.PutOptions{})
		Expect(err).NotTo(HaveOccurred())
		url := st.URL("light-bosh-stemcell.tgz")
		Expect(url).To(Equal(c.url + "/" + testBucket + "/light-stemcells/light-bosh-stemcell.tgz"))
		status, _, err := httpGet(url)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(403), "private until published")

		Expect(st.SetPublicRead(ctx, "light-bosh-stemcell.tgz", true)).To(Succeed())
		status, body, err := httpGet(url)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(200))
		Expect(string(body)).To(Equal("tarball"))
	})

	it("addresses the real cloud when no endpoint is given", func() {
		source := c.source()
		source.OSSEndpoint = ""
		real := c.store(source)
		Expect(real.URL("a b.tgz")).To(Equal("https://" + testBucket + ".oss-cn-hangzhou.aliyuncs.com/a%20b.tgz"))
	})
}

func testTransfers(t *testing.T, when spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		c      *cloud
		st     *alicloud.Store
		ctx    = context.Background()
	)
	it.Before(func() {
		c = newCloud(t)
		st = c.store(c.source())
	})

	transfer := alicloud.TransferOptions{PartSize: 1 << 20, Parallel: 4, SHA1: true}

	it("uploads in parallel parts and downloads in parallel ranges, with one-pass digests", func() {
		data := randomBytes(9<<20+12345, 1)
		var progress []int64
		var mu sync.Mutex
		opts := alicloud.UploadOptions{TransferOptions: transfer}
		opts.Progress = func(done, total int64) { mu.Lock(); progress = append(progress, done); mu.Unlock() }
		up, err := st.Upload(ctx, "heavy/bosh-stemcell.tgz", bytes.NewReader(data), opts)
		Expect(err).NotTo(HaveOccurred())
		Expect(up.Size).To(Equal(int64(len(data))))
		Expect(up.SHA256).To(Equal(sha256Hex(data)))
		Expect(up.SHA1).To(HaveLen(40))
		Expect(progress[len(progress)-1]).To(Equal(int64(len(data))))
		Expect(c.calls("oss", "UploadPart")).To(Equal(10))
		Expect(c.calls("oss", "CompleteMultipartUpload")).To(Equal(1))

		var out bytes.Buffer
		down, err := st.Download(ctx, "heavy/bosh-stemcell.tgz", &out, transfer)
		Expect(err).NotTo(HaveOccurred())
		Expect(out.Bytes()).To(Equal(data))
		Expect(down.SHA256).To(Equal(up.SHA256))
		Expect(down.SHA1).To(Equal(up.SHA1))
		Expect(c.calls("oss", "GetObject")).To(Equal(10), "one range per part")

		out.Reset()
		straddling := transfer
		straddling.PartSize = 700 << 10 // ranges that cross the uploaded parts' boundaries
		_, err = st.Download(ctx, "heavy/bosh-stemcell.tgz", &out, straddling)
		Expect(err).NotTo(HaveOccurred())
		Expect(out.Bytes()).To(Equal(data))
	})

	it("fails an upload whose progress callback panics in a part's goroutine, instead of crashing, and leaves no object", func() {
		opts := alicloud.UploadOptions{TransferOptions: transfer}
		opts.Progress = func(done, total int64) {
			if total < 0 {
				panic("progress bug")
			}
		}
		_, err := st.Upload(ctx, "heavy/crash.tgz", bytes.NewReader(randomBytes(3<<20, 7)), opts)
		Expect(err).To(MatchError(ContainSubstring("crashed: progress bug (this is a bug in concourse-pack")))
		_, err = st.Head(ctx, "heavy/crash.tgz")
		Expect(alicloud.IsNotFound(err)).To(BeTrue(), "%v", err)
	})

	it("uploads a small body in one retryable PUT, and handles empty objects", func() {
		for _, data := range [][]byte{[]byte("small"), {}} {
			up, err := st.Upload(ctx, "small", bytes.NewReader(data), alicloud.UploadOptions{TransferOptions: transfer})
			Expect(err).NotTo(HaveOccurred())
			Expect(up.SHA256).To(Equal(sha256Hex(data)))
			var out bytes.Buffer
			down, err := st.Download(ctx, "small", &out, transfer)
			Expect(err).NotTo(HaveOccurred())
			Expect(out.Len()).To(Equal(len(data)))
			Expect(down.SHA256).To(Equal(sha256Hex(data)))
		}
		Expect(c.calls("oss", "UploadPart")).To(Equal(0))
	})

	it("refuses to overwrite when asked, leaving the first object", func() {
		opts := alicloud.UploadOptions{TransferOptions: transfer, ForbidOverwrite: true}
		_, err := st.Upload(ctx, "final/release-61.tgz", bytes.NewReader(randomBytes(3<<20, 2)), opts)
		Expect(err).NotTo(HaveOccurred())
		_, err = st.Upload(ctx, "final/release-61.tgz", bytes.NewReader(randomBytes(3<<20, 3)), opts)
		Expect(alicloud.HasCode(err, "FileAlreadyExists")).To(BeTrue(), "%v", err)
		var out bytes.Buffer
		down, err := st.Download(ctx, "final/release-61.tgz", &out, transfer)
		Expect(err).NotTo(HaveOccurred())
		Expect(down.SHA256).To(Equal(sha256Hex(randomBytes(3<<20, 2))))
	})

	it("fails a download when the object changes while it is read", func() {
		data := randomBytes(6<<20, 5)
		_, err := st.Upload(ctx, "moving.tgz", bytes.NewReader(data), alicloud.UploadOptions{TransferOptions: transfer})
		Expect(err).NotTo(HaveOccurred())
		c.sim.Reset()
		c.sim.AddFault(sim.Fault{Service: "oss", Action: "GetObject", Nth: 1, Kind: sim.FaultLatency, Latency: 400 * time.Millisecond})
		done := make(chan error, 1)
		go func() {
			_, err := st.Download(ctx, "moving.tgz", io.Discard, alicloud.TransferOptions{PartSize: 1 << 20, Parallel: 3})
			done <- err
		}()
		NewWithT(t).Eventually(func() int { return c.calls("oss", "HeadObject") }, 2*time.Second, 10*time.Millisecond).Should(Equal(1))
		_, err = st.Put(ctx, "moving.tgz", []byte("replaced"), alicloud.PutOptions{})
		Expect(err).NotTo(HaveOccurred())
		NewWithT(t).Eventually(done, 5*time.Second).Should(Receive(MatchError(ContainSubstring("PreconditionFailed"))))
	})

	it("downloads to a file atomically, leaving nothing when it fails", func() {
		dir := t.TempDir()
		path := filepath.Join(dir, "stemcell.tgz")
		_, err := st.DownloadFile(ctx, "missing.tgz", path, transfer)
		Expect(alicloud.IsNotFound(err)).To(BeTrue())
		entries, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(BeEmpty())

		data := randomBytes(2<<20+1, 4)
		_, err = st.Upload(ctx, "present.tgz", bytes.NewReader(data), alicloud.UploadOptions{TransferOptions: transfer})
		Expect(err).NotTo(HaveOccurred())
		_, err = st.DownloadFile(ctx, "present.tgz", path, transfer)
		Expect(err).NotTo(HaveOccurred())
		written, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(sha256Hex(written)).To(Equal(sha256Hex(data)))
		entries, err = os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(1), "no temporary file left behind")
	})
}
