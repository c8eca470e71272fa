package builder_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/internal/testtools"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud"
	"github.com/bosh-alicloud/concourse-pack/lib/alicloud/sim"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/builder"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
)

// fanOutCase is one shape of the emulated cloud for BenchmarkFanOut.
type fanOutCase struct {
	name        string
	limitBy     string                                                        // sim.CopyLimitBySource or sim.CopyLimitByDestination
	spread      bool                                                          // copy times 20 s, 40 s or 60 s by destination
	concurrency int                                                           // BuildRequest.Concurrency; 0: Build's default, -1: one per region
	perSource   int                                                           // BuildRequest.CopiesPerSource; 0: Build's default
	learned     bool                                                          // a first, untimed build measures the copy times the timed one uses
	ideal       func(imp time.Duration, copies []time.Duration) time.Duration // the bound the wall time is divided by
}

const (
	benchImport = 5 * time.Second
	benchCopy   = 20 * time.Second
)

// BenchmarkFanOut builds a light stemcell from cn-hangzhou to every region of the emulator (29:
// 28 copies) with emulated 5 s imports and 20 s copies, the default WaitOptions (the adaptive
// waiter, as in production) and Build's default concurrency unless the case says otherwise, and
// reports:
//
//   - wall-s: the time of Build (upload, import, every copy, tagging, clean-up);
//   - ideal-s and ratio = wall ÷ ideal (goal ≤ 1.15), the ideal being:
//     source-limit: import + 2 × copy. With at most 5 copies running per source region a star
//     (every copy from the base) needs import + 6 × copy (28 copies, 5 at a time); a tree does it
//     in two rounds: 5 copies from the base, then 6 sources × 5 ≥ 23 remaining copies.
//     source-limit-spread: copy times depend on the destination (20 s, 40 s, 60 s: 1×–3×, mean
//     40 s). The best tree starts 5 fast copies first and then everything else from 6 sources,
//     so it ends at import + fastest + slowest = import + 20 s + 60 s, which is also
//     import + 2 × the mean copy; that is the ideal. A destination's copy time is the same from
//     any source. Build cannot know the copy times of a cloud it never copied in, so this case
//     (no CopyTimes) shows the first build of a stemcell line.
//     source-limit-spread-learned: the same, but a first, untimed build on a fresh emulator
//     measures the copy times (BuildRequest.CopyTimes) and the timed build on another fresh
//     emulator is ordered by them, as the resource does for every build after the first.
//     destination-limit: the emulator counts copies against their destination, so every copy
//     could run at once from the base: import + 1 × copy.
//   - max-ecs-calls/region and mean-ecs-calls/region (goal ≤ 8): the journal's ECS calls by the
//     region they are sent to (RegionId; a CopyImage is sent to its source region), and the max
//     again with each CopyImage charged to its destination (max-ecs-calls/region-copy-at-dest):
//     the calls spent on each region's image;
//   - copies-not-from-base: how tree-like the fan-out was.
func BenchmarkFanOut(b *testing.B) {
	twoRounds := func(imp time.Duration, copies []time.Duration) time.Duration {
		lo, hi := copies[0], copies[0]
		for _, d := range copies {
			lo, hi = min(lo, d), max(hi, d)
		}
		return imp + lo + hi
	}
	oneRound := func(imp time.Duration, copies []time.Duration) time.Duration {
		hi := time.Duration(0)
		for _, d := range copies {
			hi = max(hi, d)
		}
		return imp + hi
	}
	cases := []fanOutCase{
		{name: "source-limit", limitBy: sim.CopyLimitBySource, ideal: twoRounds},
		{name: "source-limit-spread", limitBy: sim.CopyLimitBySource, spread: true, ideal: twoRounds},
		{name: "source-limit-spread-learned", limitBy: sim.CopyLimitBySource, spread: true, learned: true, ideal: twoRounds},
		// With copies_per_source raised to match a limit that counts destinations.
		{name: "destination-limit", limitBy: sim.CopyLimitByDestination, perSource: 32, ideal: oneRound},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var times *builder.CopyTimes
				if tc.learned {
					b.StopTimer()
					times = builder.NewCopyTimes()
					fanOutOnce(b, tc, times, false)
					b.StartTimer()
				}
				fanOutOnce(b, tc, times, true)
			}
		})
	}
}

// fanOutOnce runs one Build on a fresh emulator, ordered by times (nil: none), and reports its
// figures when report is true.
func fanOutOnce(b *testing.B, tc fanOutCase, times *builder.CopyTimes, report bool) {
	b.StopTimer()
	regions := sim.DefaultRegions()
	var dest []string
	for _, r := range regions {
		if r != testtools.Region {
			dest = append(dest, r)
		}
	}
	sort.Strings(dest)
	copies := make([]time.Duration, len(dest))
	var copyTimes map[[2]string]time.Duration
	for i, to := range dest {
		copies[i] = benchCopy
		if tc.spread {
			// Deterministic: the i-th destination (sorted) takes 20 s × (1 + i mod 3), from any source.
			copies[i] = benchCopy * time.Duration(1+i%3)
			if copyTimes == nil {
				copyTimes = map[[2]string]time.Duration{}
			}
			for _, from := range regions {
				if from != to {
					copyTimes[[2]string{from, to}] = copies[i]
				}
			}
		}
	}
	c := testtools.NewCloud(b, func(cfg *sim.Config) {
		cfg.ImportDuration = benchImport
		cfg.CopyDuration = benchCopy
		cfg.CopyDurations = copyTimes
		cfg.CopyLimitBy = tc.limitBy
	})
	if got := c.Sim.Regions(); len(got) != len(regions) {
		b.Fatalf("the emulator has %d regions, DefaultRegions %d", len(got), len(regions))
	}
	s := benchSession(b, c)
	tarball := smallHeavy(b)
	concurrency := tc.concurrency
	if concurrency < 0 {
		concurrency = len(regions)
	}
	log := &lines{}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	before := lastSeq(c.Sim.Journal())

	b.StartTimer()
	start := time.Now()
	result, err := builder.Build(ctx, s, builder.Request{
		Heavy: bytes.NewReader(tarball), HeavyName: heavyFileName,
		BaseRegion: testtools.Region, ImageBucket: testtools.Bucket, Regions: regions,
		Concurrency: concurrency, CopiesPerSource: tc.perSource, Log: log, Channel: "candidate",
		CopyTimes: times,
	})
	wall := time.Since(start)
	b.StopTimer()
	defer b.StartTimer()
	if err != nil {
		b.Fatalf("%v\n%s", err, log.String())
	}
	if len(result.ImageIDs) != len(regions) {
		b.Fatalf("%d images for %d regions", len(result.ImageIDs), len(regions))
	}
	if !report {
		return
	}

	byRegion, byAction := ecsCallsByRegion(c.Sim.Journal(), before)
	most, where, total := 0, "", 0
	for _, r := range regions {
		n := byRegion[r]
		total += n
		if n > most {
			most, where = n, r
		}
	}
	// The same count with each CopyImage charged to its destination instead of its source.
	atDest := make(map[string]int, len(byRegion))
	for r, n := range byRegion {
		atDest[r] = n
	}
	fromElsewhere := 0
	for _, e := range c.Sim.ImageEvents() {
		if e.Status == alicloud.ImageAvailable && e.SourceRegion != "" {
			atDest[e.SourceRegion]--
			atDest[e.Region]++
			if e.SourceRegion != testtools.Region {
				fromElsewhere++
			}
		}
	}
	mostAtDest := 0
	for _, r := range regions {
		mostAtDest = max(mostAtDest, atDest[r])
	}
	ideal := tc.ideal(benchImport, copies)
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(ideal.Seconds(), "ideal-s")
	b.ReportMetric(wall.Seconds()/ideal.Seconds(), "ratio")
	b.ReportMetric(float64(most), "max-ecs-calls/region")
	b.ReportMetric(float64(total)/float64(len(regions)), "mean-ecs-calls/region")
	b.ReportMetric(float64(fromElsewhere), "copies-not-from-base")
	b.ReportMetric(float64(mostAtDest), "max-ecs-calls/region-copy-at-dest")
	b.Logf("%s: wall %.1fs, ideal %.0fs; ECS calls: most %d in %s, by region %v, by action %v",
		tc.name, wall.Seconds(), ideal.Seconds(), most, where, byRegion, byAction)
}

func benchSession(b *testing.B, c *testtools.Cloud) *alicloud.Session {
	s, err := alicloud.NewSession(alicloud.Cloud{
		AccessKeyID: testtools.KeyID, AccessKeySecret: testtools.KeySecret, Region: testtools.Region,
		Bucket: testtools.Bucket, OSSEndpoint: c.URL, ECSEndpoint: c.URL,
	}, alicloud.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// smallHeavy is a heavy stemcell with a 110 kB root.img, in memory.
func smallHeavy(b *testing.B) []byte {
	var buf bytes.Buffer
	root := bytes.Repeat([]byte("root image "), 10_000)
	if err := writeHeavy(&buf, b.TempDir(), bytes.NewReader(root), int64(len(root))); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// writeHeavy streams a heavy stemcell laid out like the real ones to w, with size bytes of root
// as its root.img. The image member (a tgz of root.img) is written to a file in dir first, for
// its size and SHA-1; nothing is held in memory but buffers.
func writeHeavy(w io.Writer, dir string, root io.Reader, size int64) error {
	image, err := os.Create(filepath.Join(dir, "image"))
	if err != nil {
		return err
	}
	defer func() { _ = image.Close() }() // a failed write shows in tw and gz below
	sum := sha1.New()
	gz := gzip.NewWriter(io.MultiWriter(image, sum))
	tw := tar.NewWriter(gz)
	mtime := time.Unix(1700000000, 0)
	if err := tw.WriteHeader(&tar.Header{Name: "./root.img", Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: mtime}); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, root, size); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	imageSize, err := image.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := image.Seek(0, io.SeekStart); err != nil {
		return err
	}

	ogz := gzip.NewWriter(w)
	otw := tar.NewWriter(ogz)
	put := func(name string, data []byte) error {
		if err := otw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := otw.Write(data)
		return err
	}
	if err := otw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime}); err != nil {
		return err
	}
	if err := put("./dev_tools_file_list.txt", []byte("/usr/bin/gcc\n/usr/bin/make\n")); err != nil {
		return err
	}
	if err := otw.WriteHeader(&tar.Header{Name: "./image", Typeflag: tar.TypeReg, Mode: 0o644, Size: imageSize, ModTime: mtime}); err != nil {
		return err
	}
	if _, err := io.Copy(otw, image); err != nil {
		return err
	}
	if err := put("./packages.txt", []byte("ii  openssl 3.0.13 amd64\n")); err != nil {
		return err
	}
	if err := put("./sbom.spdx.json", []byte(`{"spdxVersion":"SPDX-2.3"}`)); err != nil {
		return err
	}
	if err := put("./stemcell.MF", []byte(fmt.Sprintf(stemcelltest.HeavyMF, hex.EncodeToString(sum.Sum(nil))))); err != nil {
		return err
	}
	if err := otw.Close(); err != nil {
		return err
	}
	return ogz.Close()
}

// zeros reads as an endless run of zero bytes: a sparse disk image's content.
type zeroStream struct{}

func (zeroStream) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// BenchmarkHeavy3GiB builds a light stemcell for 2 regions from a heavy stemcell whose root.img
// is 3 GiB of zeros (a sparse image), streamed from a temporary file, and reports the process's
// peak RSS (ru_maxrss) before and during Build, the Go heap's peak (HeapSys) and the bytes
// allocated by Build. The emulator runs in the same process and receives the 3 GiB upload (it
// streams bodies to files), so the RSS includes the server side too.
func BenchmarkHeavy3GiB(b *testing.B) {
	const rootSize = 3 << 30
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		path := filepath.Join(dir, "bosh-stemcell.tgz")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := writeHeavy(f, dir, zeroStream{}, rootSize); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		info, _ := os.Stat(path) // written just above
		c := testtools.NewCloud(b, func(cfg *sim.Config) {
			cfg.ImportDuration = 500 * time.Millisecond
			cfg.CopyDuration = 500 * time.Millisecond
		})
		s := benchSession(b, c)
		heavy, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		log := &lines{}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		rssBefore := maxRSS(b)
		var msBefore runtime.MemStats
		runtime.ReadMemStats(&msBefore)

		b.StartTimer()
		start := time.Now()
		_, err = builder.Build(ctx, s, builder.Request{
			Heavy: heavy, HeavyName: heavyFileName,
			BaseRegion: testtools.Region, ImageBucket: testtools.Bucket, Regions: []string{testtools.Region, "eu-central-1"},
			Log: log, Channel: "candidate",
		})
		wall := time.Since(start)
		b.StopTimer()
		cancel()
		_ = heavy.Close() // read only
		if err != nil {
			b.Fatalf("%v\n%s", err, log.String())
		}
		var msAfter runtime.MemStats
		runtime.ReadMemStats(&msAfter)
		rssAfter := maxRSS(b)
		b.ReportMetric(float64(info.Size())/(1<<20), "tgz-MiB")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(rootSize)/(1<<20)/wall.Seconds(), "root-MiB/s")
		b.ReportMetric(float64(rssBefore)/(1<<20), "peak-RSS-before-MiB")
		b.ReportMetric(float64(rssAfter)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(msAfter.HeapSys)/(1<<20), "HeapSys-MiB")
		b.ReportMetric(float64(msAfter.TotalAlloc-msBefore.TotalAlloc)/(1<<20), "alloc-MiB")
	}
}

// maxRSS is the process's peak resident set size in bytes (Linux reports ru_maxrss in KiB).
func maxRSS(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return int64(ru.Maxrss) * 1024
}
