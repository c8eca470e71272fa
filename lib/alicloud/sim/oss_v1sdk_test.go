package sim_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
	ossv1 "github.com/aliyun/aliyun-oss-go-sdk/oss"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// testOSSv1SDK runs the OSS wire behaviours through the v1 SDK (github.com/aliyun/aliyun-oss-go-sdk),
// the client the BOSH CPI and terraform's oss backend use: V1 signatures by default, path
// style on an IP endpoint, CRC-64 checked on every transfer.
func testOSSv1SDK(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
	)

	it.Before(func() {
		e = newEnv(t)
	})

	client := func(opts ...ossv1.ClientOption) *ossv1.Client {
		t.Helper()
		c, err := ossv1.New(e.url, keyID, keySecret, append([]ossv1.ClientOption{ossv1.Timeout(10, 30)}, opts...)...)
		Expect(err).NotTo(HaveOccurred())
		return c
	}
	v1Error := func(err error) ossv1.ServiceError {
		t.Helper()
		var se ossv1.ServiceError
		Expect(errors.As(err, &se)).To(BeTrue(), "want an OSS service error, got %v", err)
		return se
	}

	it("creates a bucket in the default region, and puts, reads, ranges, lists, copies and deletes objects", func() {
		c := client()
		Expect(c.CreateBucket("v1-artifacts")).To(Succeed())
		exists, err := c.IsBucketExist("v1-artifacts")
		Expect(err).NotTo(HaveOccurred())
		Expect(exists).To(BeTrue())
		loc, err := c.GetBucketLocation("v1-artifacts")
		Expect(err).NotTo(HaveOccurred())
		Expect(loc).To(Equal("oss-" + e.srv.DefaultRegion()))

		b, err := c.Bucket("v1-artifacts")
		Expect(err).NotTo(HaveOccurred())
		Expect(b.PutObject("state/terraform.tfstate", strings.NewReader(`{"version":4}`), ossv1.Meta("owner", "ci"))).To(Succeed())
		r, err := b.GetObject("state/terraform.tfstate")
		Expect(err).NotTo(HaveOccurred())
		got, err := io.ReadAll(r)
		Expect(err).NotTo(HaveOccurred(), "the SDK checks the CRC-64 on the way")
		Expect(r.Close()).To(Succeed())
		Expect(string(got)).To(Equal(`{"version":4}`))

		r, err = b.GetObject("state/terraform.tfstate", ossv1.Range(1, 9))
		Expect(err).NotTo(HaveOccurred())
		got, err = io.ReadAll(r)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Close()).To(Succeed())
		Expect(string(got)).To(Equal(`"version"`))

		meta, err := b.GetObjectDetailedMeta("state/terraform.tfstate")
		Expect(err).NotTo(HaveOccurred())
		Expect(meta.Get("X-Oss-Meta-Owner")).To(Equal("ci"))
		there, err := b.IsObjectExist("state/terraform.tfstate")
		Expect(err).NotTo(HaveOccurred())
		Expect(there).To(BeTrue())

		_, err = b.CopyObject("state/terraform.tfstate", "state/backup.tfstate")
		Expect(err).NotTo(HaveOccurred())
		list, err := b.ListObjects(ossv1.Prefix("state/"), ossv1.MaxKeys(10))
		Expect(err).NotTo(HaveOccurred())
		Expect(list.Objects).To(HaveLen(2))
		v2, err := b.ListObjectsV2(ossv1.Prefix("state/"), ossv1.Delimiter("/"))
		Expect(err).NotTo(HaveOccurred())
		Expect(v2.Objects).To(HaveLen(2))

		deleted, err := b.DeleteObjects([]string{"state/terraform.tfstate", "state/backup.tfstate"})
		Expect(err).NotTo(HaveOccurred())
		Expect(deleted.DeletedObjects).To(ConsistOf("state/terraform.tfstate", "state/backup.tfstate"))
		_, err = b.GetObject("state/terraform.tfstate")
		Expect(v1Error(err).Code).To(Equal("NoSuchKey"))
		Expect(v1Error(err).StatusCode).To(Equal(404))
		Expect(c.DeleteBucket("v1-artifacts")).To(Succeed())
	})

	it("refuses an overwrite with forbid-overwrite, the pack's atomic create", func() {
		c := client()
		Expect(c.CreateBucket("v1-locks")).To(Succeed())
		b, err := c.Bucket("v1-locks")
		Expect(err).NotTo(HaveOccurred())
		Expect(b.PutObject("lock", strings.NewReader("a"), ossv1.ForbidOverWrite(true))).To(Succeed())
		err = b.PutObject("lock", strings.NewReader("b"), ossv1.ForbidOverWrite(true))
		Expect(v1Error(err).Code).To(Equal("FileAlreadyExists"))
		Expect(v1Error(err).StatusCode).To(Equal(409))
	})

	it("uploads and downloads in parts, with the CRC-64 of the whole checked", func() {
		c := client()
		Expect(c.CreateBucket("v1-images")).To(Succeed())
		b, err := c.Bucket("v1-images")
		Expect(err).NotTo(HaveOccurred())
		dir := t.TempDir()
		body := randomBody(350 << 10)
		src := filepath.Join(dir, "root.img")
		Expect(os.WriteFile(src, body, 0o600)).To(Succeed())
		Expect(b.UploadFile("root.img", src, 100<<10, ossv1.Routines(3))).To(Succeed())
		dst := filepath.Join(dir, "back.img")
		Expect(b.DownloadFile("root.img", dst, 100<<10, ossv1.Routines(3))).To(Succeed())
		back, err := os.ReadFile(dst)
		Expect(err).NotTo(HaveOccurred())
		Expect(bytes.Equal(back, body)).To(BeTrue())
		meta, err := b.GetObjectDetailedMeta("root.img")
		Expect(err).NotTo(HaveOccurred())
		Expect(meta.Get("X-Oss-Object-Type")).To(Equal("Multipart"))
	})

	it("serves public-read objects anonymously and presigned URLs to anyone", func() {
		c := client()
		Expect(c.CreateBucket("v1-public")).To(Succeed())
		b, err := c.Bucket("v1-public")
		Expect(err).NotTo(HaveOccurred())
		Expect(b.PutObject("light.tgz", strings.NewReader("light"))).To(Succeed())
		status, _, _, err := rawGet(e.url + "/v1-public/light.tgz")
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusForbidden))
		Expect(b.SetObjectACL("light.tgz", ossv1.ACLPublicRead)).To(Succeed())
		status, _, body, err := rawGet(e.url + "/v1-public/light.tgz")
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK))
		Expect(body).To(Equal("light"))

		Expect(b.PutObject("private.tgz", strings.NewReader("private"))).To(Succeed())
		signed, err := b.SignURL("private.tgz", ossv1.HTTPGet, 60)
		Expect(err).NotTo(HaveOccurred())
		status, _, body, err = rawGet(signed)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK))
		Expect(body).To(Equal("private"))
	})

	it("signs with V4 when asked, in the client's region", func() {
		c := client(ossv1.AuthVersion(ossv1.AuthV4), ossv1.Region(remoteRegion))
		Expect(c.CreateBucket("v1-signed-v4")).To(Succeed())
		region, _ := e.srv.BucketRegion("v1-signed-v4")
		Expect(region).To(Equal(remoteRegion))
		b, err := c.Bucket("v1-signed-v4")
		Expect(err).NotTo(HaveOccurred())
		Expect(b.PutObject("k", strings.NewReader("v4"))).To(Succeed())
	})

	it("acts with STS credentials from AssumeRole, and refuses a wrong secret naming the string to sign", func() {
		sc, err := sts.NewClientWithAccessKey(homeRegion, keyID, keySecret)
		Expect(err).NotTo(HaveOccurred())
		sc.Domain = e.host
		ar := sts.CreateAssumeRoleRequest()
		ar.RoleArn, ar.RoleSessionName = "acs:ram::1234567890123456:role/ci", "v1-sdk"
		assumed, err := sc.AssumeRole(ar)
		Expect(err).NotTo(HaveOccurred())
		cr := assumed.Credentials
		c, err := ossv1.New(e.url, cr.AccessKeyId, cr.AccessKeySecret, ossv1.SecurityToken(cr.SecurityToken))
		Expect(err).NotTo(HaveOccurred())
		Expect(c.CreateBucket("v1-sts")).To(Succeed())

		bad, err := ossv1.New(e.url, keyID, "not-the-secret")
		Expect(err).NotTo(HaveOccurred())
		err = bad.CreateBucket("v1-bad")
		Expect(v1Error(err).Code).To(Equal("SignatureDoesNotMatch"))
		Expect(v1Error(err).StatusCode).To(Equal(403))
	})
}
