package release_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	gocontext "context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bosh-alicloud/concourse-pack/lib/release"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"gopkg.in/yaml.v3"
)

func testInspect(t *testing.T, context spec.G, it spec.S, fx *fixtures) {
	var Expect = NewWithT(t).Expect

	for _, tc := range []struct {
		kind, version string
		tarball       func() string
	}{
		{"dev", "0+dev.1", func() string { return fx.dev }},
		{"rc", "61.0.1-rc.3", func() string { return fx.rc }},
		{"final", "1", func() string { return fx.final }},
	} {
		tc := tc
		context("the "+tc.kind+" tarball bosh made", func() {
			var (
				path string
				tb   *release.Tarball
			)
			it.Before(func() {
				path = tc.tarball()
				tb = must(release.InspectFile(t.Context(), path))
			})

			it("has the release's name, version, commit and items", func() {
				m := tb.Manifest
				Expect(m.Name).To(Equal("demo"))
				Expect(m.Version).To(Equal(tc.version))
				Expect(m.CommitHash).To(Equal(fx.commitHash))
				Expect(m.UncommittedChanges).To(BeFalse())

				Expect(m.Jobs).To(HaveLen(1))
				Expect(m.Jobs[0].Name).To(Equal("hello"))
				Expect(m.Jobs[0].Packages).To(Equal([]string{"greeter"}))

				Expect(m.Packages).To(HaveLen(2))
				byName := map[string]release.Item{}
				for _, p := range m.Packages {
					byName[p.Name] = p
				}
				Expect(byName).To(HaveKey("greeter"))
				Expect(byName).To(HaveKey("lib"))
				Expect(byName["greeter"].Dependencies).To(Equal([]string{"lib"}))
				Expect(byName["lib"].Dependencies).To(BeEmpty())
				Expect(m.CompiledPackages).To(BeEmpty())
				Expect(m.License).NotTo(BeNil())
				Expect(m.License.Name).To(Equal("license"))
			})

			it("digests the whole file as sha1sum and sha256sum do", func() {
				data := must(os.ReadFile(path))
				Expect(tb.SHA1).To(Equal(fmt.Sprintf("%x", sha1.Sum(data))))
				Expect(tb.SHA256).To(Equal(fmt.Sprintf("%x", sha256.Sum256(data))))
				Expect(tb.Size).To(Equal(int64(len(data))))
			})

			it("keeps release.MF as bosh wrote it, and each item's digest is its archive's", func() {
				raw := must(exec.Command("tar", "-xzOf", path, "release.MF").Output())
				Expect(tb.Manifest.Raw).To(Equal(raw))

				members := map[string][]byte{}
				for _, e := range readEntries(t, path) {
					members[e.hdr.Name] = e.body
				}
				check := func(member string, item release.Item) {
					Expect(members).To(HaveKey(member))
					Expect(item.SHA1).To(Equal(fmt.Sprintf("sha256:%x", sha256.Sum256(members[member]))), member)
				}
				check("jobs/hello.tgz", tb.Manifest.Jobs[0])
				for _, p := range tb.Manifest.Packages {
					check("packages/"+p.Name+".tgz", p)
				}
				check("license.tgz", *tb.Manifest.License)
			})

			it("has the fingerprints bosh recorded in the release directory", func() {
				dirManifest := filepath.Join(fx.dir, "dev_releases", "demo", "demo-"+tc.version+".yml")
				if tc.kind == "final" {
					dirManifest = filepath.Join(fx.dir, "releases", "demo", "demo-1.yml")
				}
				var recorded struct {
					Jobs, Packages []struct{ Name, Fingerprint, SHA1 string }
				}
				Expect(yaml.Unmarshal(must(os.ReadFile(dirManifest)), &recorded)).To(Succeed())
				Expect(recorded.Jobs[0].Fingerprint).To(Equal(tb.Manifest.Jobs[0].Fingerprint))
				Expect(recorded.Jobs[0].SHA1).To(Equal(tb.Manifest.Jobs[0].SHA1))
				for i, p := range recorded.Packages {
					Expect(tb.Manifest.Packages[i].Name).To(Equal(p.Name))
					Expect(tb.Manifest.Packages[i].Fingerprint).To(Equal(p.Fingerprint))
				}
			})
		})
	}

	context("a tarball rebuilt from bosh's", func() {
		var entries []entry
		it.Before(func() {
			entries = readEntries(t, fx.dev)
		})

		inspect := func(entries []entry) (*release.Tarball, error) {
			return release.Inspect(bytes.NewReader(tarball(t, entries)))
		}
		// replace returns entries with one member's body changed (or dropped, when body is nil).
		replace := func(name string, body []byte) []entry {
			var out []entry
			for _, e := range entries {
				if e.hdr.Name == name {
					if body == nil {
						continue
					}
					e.body, e.hdr.Size = body, int64(len(body))
				}
				out = append(out, e)
			}
			return out
		}
		body := func(name string) []byte {
			for _, e := range entries {
				if e.hdr.Name == name {
					return e.body
				}
			}
			t.Fatalf("no %s in the dev tarball", name)
			return nil
		}

		it("passes unchanged, with its digests those of the rebuilt bytes", func() {
			data := tarball(t, entries)
			tb := must(release.Inspect(bytes.NewReader(data)))
			Expect(tb.Manifest.Version).To(Equal("0+dev.1"))
			Expect(tb.SHA256).To(Equal(fmt.Sprintf("%x", sha256.Sum256(data))))
		})

		it("names job hello when one byte inside jobs/hello.tgz changed", func() {
			hello := bytes.Clone(body("jobs/hello.tgz"))
			hello[len(hello)/2] ^= 0x01
			_, err := inspect(replace("jobs/hello.tgz", hello))
			Expect(err).To(HaveOccurred())
			want := strings.TrimPrefix(tbJob(t, fx.dev).SHA1, "sha256:")
			Expect(err.Error()).To(ContainSubstring(fmt.Sprintf(
				`job "hello": sha256 mismatch: release.MF says %s, the archive has %x`, want, sha256.Sum256(hello))))
			var mismatch *release.ArchiveMismatchError
			Expect(errors.As(err, &mismatch)).To(BeTrue())
			Expect(mismatch.Member).To(Equal("jobs/hello.tgz"))
		})

		it("names an item whose archive is missing", func() {
			_, err := inspect(replace("packages/lib.tgz", nil))
			Expect(err).To(MatchError(ContainSubstring(`package "lib": release.MF lists it but the tarball has no packages/lib.tgz`)))
		})

		it("names an archive release.MF does not list, after or before release.MF", func() {
			extra := file("jobs/extra.tgz", []byte("x"))
			_, err := inspect(append(bytes2(entries), extra))
			Expect(err).To(MatchError(ContainSubstring(`member "jobs/extra.tgz" is not in release.MF`)))

			_, err = inspect(append([]entry{extra}, entries...))
			Expect(err).To(MatchError(ContainSubstring(`member "jobs/extra.tgz" is not in release.MF`)))
		})

		it("refuses a member that is neither an archive nor release.MF", func() {
			_, err := inspect(append(bytes2(entries), file("src/greeter/greet.sh", []byte("echo"))))
			Expect(err).To(MatchError(ContainSubstring(`member "src/greeter/greet.sh": unexpected in a release tarball`)))
		})

		it("refuses a member that appears twice", func() {
			_, err := inspect(append(bytes2(entries), file("jobs/hello.tgz", body("jobs/hello.tgz"))))
			Expect(err).To(MatchError(ContainSubstring(`member "jobs/hello.tgz": appears twice`)))
		})

		it("refuses LICENSE files when release.MF has no license", func() {
			m := strings.Split(string(body("release.MF")), "\nlicense:")[0] + "\n"
			var noLicense []entry
			for _, e := range replace("release.MF", []byte(m)) {
				if e.hdr.Name != "license.tgz" {
					noLicense = append(noLicense, e)
				}
			}
			_, err := inspect(noLicense)
			Expect(err).To(MatchError(ContainSubstring(`member "LICENSE" is not in release.MF (it has no license)`)))
		})

		it("accepts ./ prefixes and release.MF after the archives", func() {
			var moved []entry
			for _, e := range entries {
				if e.hdr.Name != "release.MF" {
					e.hdr.Name = "./" + e.hdr.Name
					moved = append(moved, e)
				}
			}
			root := entry{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}}
			moved = append([]entry{root}, moved...)
			moved = append(moved, file("./release.MF", body("release.MF")))
			tb := must(inspect(moved))
			Expect(tb.Manifest.Jobs[0].Name).To(Equal("hello"))

			hello := bytes.Clone(body("jobs/hello.tgz"))
			hello[0] ^= 0xff
			for i := range moved {
				if moved[i].hdr.Name == "./jobs/hello.tgz" {
					moved[i].body = hello
				}
			}
			_, err := inspect(moved)
			Expect(err).To(MatchError(ContainSubstring(`job "hello": sha256 mismatch`)))
		})

		context("with other digest forms in release.MF", func() {
			// rewrite replaces every item's sha1 field using digestOf(member body).
			rewrite := func(digestOf func(b []byte) string) []entry {
				m := string(body("release.MF"))
				for _, e := range entries {
					if strings.HasSuffix(e.hdr.Name, ".tgz") {
						old := fmt.Sprintf("sha256:%x", sha256.Sum256(e.body))
						Expect(m).To(ContainSubstring(old))
						m = strings.ReplaceAll(m, old, digestOf(e.body))
					}
				}
				return replace("release.MF", []byte(m))
			}

			it("verifies bare SHA-1 digests (releases made before SHA-256)", func() {
				tb := must(inspect(rewrite(func(b []byte) string { return fmt.Sprintf("%x", sha1.Sum(b)) })))
				Expect(tb.Manifest.Jobs[0].SHA1).To(HaveLen(40))
			})

			it("verifies multi-digests by their strongest sum", func() {
				multi := func(b []byte) string {
					return fmt.Sprintf(`"sha1:%x;sha256:%x"`, sha1.Sum(b), sha256.Sum256(b))
				}
				Expect(inspect(rewrite(multi))).Error().NotTo(HaveOccurred())

				wrongSHA1 := func(b []byte) string {
					return fmt.Sprintf(`"sha1:%s;sha256:%x"`, strings.Repeat("0", 40), sha256.Sum256(b))
				}
				Expect(inspect(rewrite(wrongSHA1))).Error().NotTo(HaveOccurred(), "bosh checks the strongest only")

				wrongSHA256 := func(b []byte) string {
					return fmt.Sprintf(`"sha1:%x;sha256:%s"`, sha1.Sum(b), strings.Repeat("0", 64))
				}
				_, err := inspect(rewrite(wrongSHA256))
				Expect(err).To(MatchError(ContainSubstring(`job "hello": sha256 mismatch: release.MF says ` + strings.Repeat("0", 64))))
				Expect(err).To(MatchError(ContainSubstring(`package "greeter": sha256 mismatch`)))
				Expect(err).To(MatchError(ContainSubstring(`license: sha256 mismatch`)))
			})
		})
	})
}

// bytes2 copies entries so appends never share a backing array between specs.
func bytes2(entries []entry) []entry { return append([]entry(nil), entries...) }

func tbJob(t *testing.T, path string) release.Item {
	t.Helper()
	return must(release.InspectFile(t.Context(), path)).Manifest.Jobs[0]
}

func testInspectCrafted(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	manifest := file("release.MF", []byte("name: demo\nversion: \"1\"\n"))
	inspect := func(entries ...entry) error {
		_, err := release.Inspect(bytes.NewReader(tarball(t, entries)))
		return err
	}

	it("accepts a release without jobs or packages", func() {
		Expect(inspect(manifest)).To(Succeed())
	})

	for _, tc := range []struct {
		what  string
		entry entry
		want  string
	}{
		{"a ../ path", file("../evil.tgz", []byte("x")), `member "../evil.tgz": path has a '..' component`},
		{"a ../ path deeper down", file("jobs/../../evil", []byte("x")), `member "jobs/../../evil": path has a '..' component`},
		{"an absolute path", file("/etc/cron.d/evil", []byte("x")), `member "/etc/cron.d/evil": absolute path`},
		{"a symbolic link", entry{hdr: tar.Header{Name: "jobs/hello.tgz", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}},
			`member "jobs/hello.tgz": is a symbolic link (to "/etc/passwd")`},
		{"a hard link", entry{hdr: tar.Header{Name: "jobs/hello.tgz", Typeflag: tar.TypeLink, Linkname: "release.MF"}},
			`member "jobs/hello.tgz": is a hard link`},
		{"a device file", entry{hdr: tar.Header{Name: "jobs/sda.tgz", Typeflag: tar.TypeBlock, Devmajor: 8}},
			`member "jobs/sda.tgz": is a device file`},
		{"a character device", entry{hdr: tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}},
			`member "null": is a device file`},
		{"a FIFO", entry{hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}}, `member "fifo": is a FIFO`},
		{"an unexpected directory", entry{hdr: tar.Header{Name: "src/", Typeflag: tar.TypeDir, Mode: 0o755}},
			`member "src/": unexpected directory`},
		{"an unclean path", file("jobs//hello.tgz", []byte("x")), `member "jobs//hello.tgz": path is not clean`},
		{"a member over 16 GiB", entry{hdr: tar.Header{Name: "packages/huge.tgz", Typeflag: tar.TypeReg, Mode: 0o644, Size: 16<<30 + 1}},
			`member "packages/huge.tgz": is 17179869185 bytes, more than the 17179869184`},
	} {
		tc := tc
		it("refuses "+tc.what+", naming the member", func() {
			for _, order := range [][]entry{{manifest, tc.entry}, {tc.entry, manifest}} {
				err := inspect(order...)
				Expect(err).To(MatchError(ContainSubstring(tc.want)))
				Expect(err.Error()).To(HavePrefix("release tarball refused: "))
				if tc.entry.hdr.Size > int64(len(tc.entry.body)) {
					break // a crafted, truncated entry can only come last
				}
			}
		})
	}

	it("refuses a release.MF over 16 MiB", func() {
		huge := entry{hdr: tar.Header{Name: "./release.MF", Typeflag: tar.TypeReg, Mode: 0o644, Size: 16<<20 + 1}}
		Expect(inspect(huge)).To(MatchError("release tarball refused: release.MF is 16777217 bytes, more than 16777216"))
	})

	it("refuses more than 10,000 members", func() {
		entries := []entry{manifest}
		for range release.MaxMembers {
			entries = append(entries, entry{hdr: tar.Header{Name: "jobs/", Typeflag: tar.TypeDir, Mode: 0o755}})
		}
		Expect(inspect(entries...)).To(MatchError(ContainSubstring("more than 10000 members")))
		Expect(inspect(entries[:release.MaxMembers]...)).To(Succeed())
	})

	it("streams: a 64 MiB archive costs no more than a few MiB of memory", func() {
		const size = 64 << 20
		zeros := make([]byte, 1<<20)
		// writeBig writes the package archive (a tgz of 64 MiB of zeros) to w, the same bytes
		// every time: once to learn its digest and length, once inside the release tarball.
		writeBig := func(w io.Writer) error {
			gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // BestSpeed is a valid level
			tw := tar.NewWriter(gz)
			err := tw.WriteHeader(&tar.Header{Name: "./zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: size})
			for range size / len(zeros) {
				if err == nil {
					_, err = tw.Write(zeros)
				}
			}
			if err == nil {
				err = tw.Close()
			}
			if err == nil {
				err = gz.Close()
			}
			return err
		}
		sum, counted := sha256.New(), &countingWriter{}
		Expect(writeBig(io.MultiWriter(sum, counted))).To(Succeed())
		mf := fmt.Sprintf("name: big\nversion: \"1\"\npackages:\n- {name: big, sha1: \"sha256:%x\"}\n", sum.Sum(nil))

		pr, pw := io.Pipe()
		go func() {
			// A write that fails ends the stream with its error, which Inspect then reports.
			gz, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed) // BestSpeed is a valid level
			tw := tar.NewWriter(gz)
			err := tw.WriteHeader(&tar.Header{Name: "release.MF", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(mf))})
			if err == nil {
				_, err = tw.Write([]byte(mf))
			}
			if err == nil {
				err = tw.WriteHeader(&tar.Header{Name: "packages/big.tgz", Typeflag: tar.TypeReg, Mode: 0o644, Size: counted.n})
			}
			if err == nil {
				err = writeBig(tw)
			}
			if err == nil {
				err = tw.Close()
			}
			if err == nil {
				err = gz.Close()
			}
			_ = pw.CloseWithError(err) // CloseWithError always returns nil
		}()

		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tb, err := release.Inspect(pr)
		runtime.ReadMemStats(&after)
		Expect(err).NotTo(HaveOccurred())
		Expect(tb.Manifest.Packages[0].Name).To(Equal("big"))
		Expect(after.TotalAlloc-before.TotalAlloc).To(BeNumerically("<", 8<<20), "bytes allocated while inspecting (and generating)")
	})

	it("refuses a tarball without release.MF", func() {
		Expect(inspect(entry{hdr: tar.Header{Name: "jobs/", Typeflag: tar.TypeDir, Mode: 0o755}})).
			To(MatchError("release tarball has no release.MF"))
	})

	it("refuses an invalid release.MF, naming it", func() {
		err := inspect(file("release.MF", []byte("name: demo\n")))
		Expect(err).To(MatchError(ContainSubstring("release.MF: version is missing")))
	})

	it("refuses what is not gzip, and a truncated stream", func() {
		_, err := release.Inspect(strings.NewReader("plain text, not a tarball"))
		Expect(err).To(MatchError(ContainSubstring("not a gzipped release tarball")))

		data := tarball(t, []entry{manifest, file("license.tgz", bytes.Repeat([]byte("x"), 4096))})
		_, err = release.Inspect(bytes.NewReader(data[:len(data)-10]))
		Expect(err).To(HaveOccurred())
	})

	it("refuses data after the gzip stream", func() {
		data := append(tarball(t, []entry{manifest}), []byte("trailing garbage")...)
		_, err := release.Inspect(bytes.NewReader(data))
		Expect(err).To(MatchError(ContainSubstring("after its last member")))
	})
}

func testInspectInner(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	// withJob is a tarball whose release.MF lists job "hello" with the digest of archive, so
	// every digest verifies and only the archive's content can be refused.
	withJob := func(archive []byte) error {
		mf := fmt.Sprintf("name: demo\nversion: \"1\"\njobs:\n- {name: hello, version: v, fingerprint: v, sha1: \"sha256:%x\"}\n", sha256.Sum256(archive))
		_, err := release.Inspect(bytes.NewReader(tarball(t, []entry{file("release.MF", []byte(mf)), file("jobs/hello.tgz", archive)})))
		return err
	}
	jobMF := file("./job.MF", []byte("name: hello\ntemplates: {}\npackages: []\n"))

	it("accepts a job archive whose entries stay inside", func() {
		link := entry{hdr: tar.Header{Name: "./bin", Typeflag: tar.TypeSymlink, Linkname: "templates"}}
		Expect(withJob(tarball(t, []entry{jobMF, link, file("./templates/run.erb", []byte("x"))}))).To(Succeed())
	})

	for _, tc := range []struct {
		what  string
		entry entry
		want  string
	}{
		{"a ../ path", file("../../etc/cron.d/evil", []byte("x")), `entry "../../etc/cron.d/evil": path has a '..' component`},
		{"an absolute path", file("/etc/cron.d/evil", []byte("x")), `entry "/etc/cron.d/evil": absolute path`},
		{"a symbolic link out", entry{hdr: tar.Header{Name: "./x", Typeflag: tar.TypeSymlink, Linkname: "../../etc/shadow"}},
			`entry "./x": symbolic link to "../../etc/shadow" leads outside the archive`},
		{"a hard link", entry{hdr: tar.Header{Name: "./x", Typeflag: tar.TypeLink, Linkname: "./job.MF"}}, `entry "./x": is a hard link (to "./job.MF")`},
		{"a device", entry{hdr: tar.Header{Name: "./sda", Typeflag: tar.TypeBlock, Devmajor: 8}}, `entry "./sda": is a device file`},
		{"a FIFO", entry{hdr: tar.Header{Name: "./fifo", Typeflag: tar.TypeFifo}}, `entry "./fifo": is a FIFO`},
	} {
		tc := tc
		it("refuses a job archive holding "+tc.what+", naming the job and the entry", func() {
			err := withJob(tarball(t, []entry{jobMF, tc.entry}))
			Expect(err).To(MatchError(ContainSubstring(`job "hello" (jobs/hello.tgz) refused: ` + tc.want)))
		})
	}

	it("refuses an archive that comes before release.MF the same way", func() {
		archive := tarball(t, []entry{file("../evil", []byte("x"))})
		mf := fmt.Sprintf("name: demo\nversion: \"1\"\npackages:\n- {name: p, version: v, fingerprint: v, sha1: \"sha256:%x\"}\n", sha256.Sum256(archive))
		_, err := release.Inspect(bytes.NewReader(tarball(t, []entry{file("packages/p.tgz", archive), file("release.MF", []byte(mf))})))
		Expect(err).To(MatchError(`release demo/1: package "p" (packages/p.tgz) refused: entry "../evil": path has a '..' component`))
	})

	it("names a digest mismatch rather than the damage it did inside", func() {
		archive := tarball(t, []entry{jobMF})
		mf := fmt.Sprintf("name: demo\nversion: \"1\"\njobs:\n- {name: hello, version: v, fingerprint: v, sha1: \"sha256:%x\"}\n", sha256.Sum256(archive))
		archive[len(archive)-5] ^= 0xff
		_, err := release.Inspect(bytes.NewReader(tarball(t, []entry{file("release.MF", []byte(mf)), file("jobs/hello.tgz", archive)})))
		Expect(err).To(MatchError(ContainSubstring(`job "hello": sha256 mismatch`)))
		Expect(err).NotTo(MatchError(ContainSubstring("refused")))
	})

	it("refuses an archive that is not a gzipped tar", func() {
		err := withJob([]byte("not an archive"))
		Expect(err).To(MatchError(ContainSubstring(`job "hello" (jobs/hello.tgz) refused: not gzipped`)))
	})

	it("names the limits", func() {
		Expect(release.MaxArchiveEntries).To(Equal(200_000))
		Expect(release.MaxArchiveExpanded).To(Equal(32 << 30))
		var entries []entry
		for range release.MaxArchiveEntries + 1 {
			entries = append(entries, entry{hdr: tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}})
		}
		Expect(withJob(tarball(t, entries))).To(MatchError(ContainSubstring(`job "hello" (jobs/hello.tgz) refused: more than 200000 entries (the limit)`)))
	})

	it("stops when its context is done", func() {
		path := filepath.Join(t.TempDir(), "r.tgz")
		Expect(os.WriteFile(path, tarball(t, []entry{file("release.MF", []byte("name: demo\nversion: \"1\"\n"))}), 0o644)).To(Succeed())
		ctx, cancel := gocontext.WithCancelCause(t.Context())
		cancel(errors.New("stopped by SIGTERM"))
		_, err := release.InspectFile(ctx, path)
		Expect(err).To(MatchError(ContainSubstring("stopped by SIGTERM")))
	})
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
