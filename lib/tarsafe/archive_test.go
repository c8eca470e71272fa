package tarsafe_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/lib/tarsafe"
)

func testCheck(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	limits := tarsafe.Limits{Entries: 100, Expanded: 1 << 20}
	reg := func(name, body string) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}
	}
	dir := func(name string) tar.Header { return tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
	link := func(name, target string) tar.Header {
		return tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}
	}
	tgz := func(headers ...tar.Header) []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, h := range headers {
			Expect(tw.WriteHeader(&h)).To(Succeed())
			_, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(tw.Close()).To(Succeed())
		Expect(gz.Close()).To(Succeed())
		return buf.Bytes()
	}
	check := func(headers ...tar.Header) error {
		return tarsafe.Check(bytes.NewReader(tgz(headers...)), limits)
	}

	it("accepts files, directories and links that stay inside, as a bosh job or package has", func() {
		Expect(check(dir("./"), reg("./job.MF", "name: x"), dir("./templates/"), reg("./templates/run.erb", "#!/bin/sh"),
			link("./bin", "templates"), link("./templates/self", "../templates/./run.erb"), link("lib/current", "../bin/../job.MF"))).To(Succeed())
	})

	for _, tc := range []struct {
		what    string
		headers []tar.Header
		want    string
	}{
		{"a ../ path", []tar.Header{reg("../../etc/cron.d/evil", "x")}, `entry "../../etc/cron.d/evil": path has a '..' component`},
		{"an absolute path", []tar.Header{reg("/etc/passwd", "x")}, `entry "/etc/passwd": absolute path`},
		{"an absolute link", []tar.Header{link("./passwd", "/etc/passwd")}, `entry "./passwd": symbolic link to "/etc/passwd" leads outside the archive`},
		{"a link that climbs out", []tar.Header{dir("a/"), link("a/up", "../../x")}, `entry "a/up": symbolic link to "../../x" leads outside the archive`},
		{"a link that climbs out through another link, defined later",
			[]tar.Header{link("b", "here/.."), link("here", ".")}, `entry "b": symbolic link to "here/.." leads outside the archive`},
		{"a loop of links", []tar.Header{link("a", "b"), link("b", "a")}, `entry "a": symbolic link to "b" leads outside the archive`},
		{"an entry written through a link", []tar.Header{link("etc", "."), reg("etc/passwd", "x")}, `entry "etc/passwd": is under etc, a symbolic link`},
		{"a link replacing a directory already written", []tar.Header{reg("d/f", "x"), link("d", ".")}, `entry "d": is a symbolic link where the archive has a directory`},
		{"a file replacing a link", []tar.Header{link("f", "g"), reg("f", "x")}, `entry "f": replaces a symbolic link with a file`},
		{"a hard link", []tar.Header{reg("a", "x"), {Name: "b", Typeflag: tar.TypeLink, Linkname: "a"}}, `entry "b": is a hard link (to "a")`},
		{"a block device", []tar.Header{{Name: "sda", Typeflag: tar.TypeBlock, Devmajor: 8}}, `entry "sda": is a device file`},
		{"a character device", []tar.Header{{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}, `entry "null": is a device file`},
		{"a FIFO", []tar.Header{{Name: "fifo", Typeflag: tar.TypeFifo}}, `entry "fifo": is a FIFO`},
	} {
		tc := tc
		it("refuses "+tc.what+", naming the entry", func() {
			Expect(check(tc.headers...)).To(MatchError(HavePrefix(tc.want)), tc.what)
		})
	}

	it("refuses more entries than the limit, naming it", func() {
		var headers []tar.Header
		for range limits.Entries {
			headers = append(headers, dir("d/"))
		}
		Expect(check(headers...)).To(Succeed())
		Expect(check(append(headers, dir("d/"))...)).To(MatchError("more than 100 entries (the limit)"))
	})

	it("refuses an archive that expands past the limit, streaming: a bomb is not expanded whole", func() {
		Expect(check(reg("small", strings.Repeat("x", 512<<10)))).To(Succeed())
		bomb := tgz(reg("zeros", strings.Repeat("x", 64<<20)))
		counted := &countingReader{r: bytes.NewReader(bomb)}
		Expect(tarsafe.Check(counted, limits)).To(MatchError("expands to more than 1048576 bytes (the limit)"))
		Expect(counted.n).To(BeNumerically("<", len(bomb)), "it stopped reading at the limit")
	})

	it("refuses what is not a gzipped tar", func() {
		Expect(tarsafe.Check(strings.NewReader("plain"), limits)).To(MatchError(ContainSubstring("not gzipped")))
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
