package stemcell_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bosh-alicloud/concourse-pack/lib/stemcell"
	"github.com/bosh-alicloud/concourse-pack/lib/stemcell/stemcelltest"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testReadHeavy(t *testing.T, context spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect

	rootImg := []byte("a raw disk image\x00\x01\x02")

	// collect is a RootImageFunc that keeps root.img.
	collect := func(got *[]byte, size *int64) stemcell.RootImageFunc {
		return func(r io.Reader, n int64) error {
			*size = n
			b, err := io.ReadAll(r)
			*got = b
			return err
		}
	}

	context("ReadManifest", func() {
		it("reads stemcell.MF without the image, and refuses what ReadHeavy refuses on the way", func() {
			tarball, image := stemcelltest.HeavyStemcell(t, rootImg) // stemcell.MF comes last
			m, err := stemcell.ReadManifest(bytes.NewReader(tarball))
			Expect(err).NotTo(HaveOccurred())
			Expect(m.Version()).To(Equal("1.484"))
			Expect(m.SHA1()).To(Equal(stemcelltest.SHA1Hex(image)))

			unsafe := stemcelltest.Tgz(t, stemcelltest.File("../escape", []byte("x")), stemcelltest.File("stemcell.MF", stemcelltest.ManifestFor(image)))
			_, err = stemcell.ReadManifest(bytes.NewReader(unsafe))
			Expect(err).To(MatchError(ContainSubstring(`member "../escape"`)))
			_, err = stemcell.ReadManifest(bytes.NewReader(stemcelltest.Tgz(t, stemcelltest.File("image", image))))
			Expect(err).To(MatchError("stemcell tarball has no stemcell.MF"))
		})
	})

	context("a heavy stemcell", func() {
		it("streams root.img, checks the image's SHA-1 and keeps every member in order", func() {
			tarball, image := stemcelltest.HeavyStemcell(t, rootImg)
			var got []byte
			var size int64
			h, err := stemcell.ReadHeavy(bytes.NewReader(tarball), collect(&got, &size))
			Expect(err).NotTo(HaveOccurred())

			Expect(got).To(Equal(rootImg))
			Expect(size).To(Equal(int64(len(rootImg))))
			Expect(h.RootImageSize).To(Equal(int64(len(rootImg))))
			Expect(h.ImageSize).To(Equal(int64(len(image))))
			Expect(h.ImageSHA1).To(Equal(stemcelltest.SHA1Hex(image)))
			Expect(h.Manifest.Name()).To(Equal("bosh-alicloud-kvm-ubuntu-noble"))
			Expect(h.Manifest.Version()).To(Equal("1.484"))
			Expect(h.Members).To(Equal([]stemcell.Member{
				{Name: "dev_tools_file_list.txt", Data: []byte("/usr/bin/gcc\n/usr/bin/make\n")},
				{Name: "image"},
				{Name: "packages.txt", Data: []byte("ii  openssl 3.0.13 amd64\n")},
				{Name: "sbom.spdx.json", Data: []byte(`{"spdxVersion":"SPDX-2.3"}`)},
				{Name: "stemcell.MF"},
			}))
		})

		it("reads stemcell.MF before image too, and needs no callback", func() {
			image := stemcelltest.ImageTgz(t, rootImg)
			tarball := stemcelltest.Tgz(t, stemcelltest.File("stemcell.MF", stemcelltest.ManifestFor(image)), stemcelltest.File("image", image))
			h, err := stemcell.ReadHeavy(bytes.NewReader(tarball), nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(h.Members).To(Equal([]stemcell.Member{{Name: "stemcell.MF"}, {Name: "image"}}))
			Expect(h.RootImageSize).To(Equal(int64(len(rootImg))))
		})

		it("still checks the whole image when the callback stops reading early", func() {
			tarball, _ := stemcelltest.HeavyStemcell(t, bytes.Repeat([]byte("x"), 100_000))
			_, err := stemcell.ReadHeavy(bytes.NewReader(tarball), func(r io.Reader, _ int64) error {
				_, err := io.ReadFull(r, make([]byte, 10))
				return err
			})
			Expect(err).NotTo(HaveOccurred())
		})

		it("returns the callback's error", func() {
			tarball, _ := stemcelltest.HeavyStemcell(t, rootImg)
			boom := errors.New("upload failed")
			_, err := stemcell.ReadHeavy(bytes.NewReader(tarball), func(io.Reader, int64) error { return boom })
			Expect(err).To(MatchError(boom))
			Expect(err).To(MatchError("streaming root.img: upload failed"))
		})

		it("streams a 64 MiB root.img in bounded memory", func() {
			const size = 64 << 20
			image := stemcelltest.Tgz(t, stemcelltest.Entry{Header: tar.Header{Name: "root.img", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}, Body: io.LimitReader(zeros{}, size)})
			tarball := stemcelltest.Tgz(t, stemcelltest.File("image", image), stemcelltest.File("stemcell.MF", stemcelltest.ManifestFor(image)))
			want := sha1.New()
			_, _ = io.Copy(want, io.LimitReader(zeros{}, size))

			got := sha1.New()
			var n int64
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := stemcell.ReadHeavy(bytes.NewReader(tarball), func(r io.Reader, _ int64) error {
				var err error
				n, err = io.Copy(got, r)
				return err
			})
			runtime.ReadMemStats(&after)
			Expect(err).NotTo(HaveOccurred())
			Expect(n).To(Equal(int64(size)))
			Expect(hex.EncodeToString(got.Sum(nil))).To(Equal(hex.EncodeToString(want.Sum(nil))))
			allocated := after.TotalAlloc - before.TotalAlloc
			Expect(allocated).To(BeNumerically("<", 4<<20), "ReadHeavy allocated %d bytes for a %d-byte root.img", allocated, size)
		})
	})

	context("an image that does not match stemcell.MF", func() {
		it("fails naming both digests", func() {
			image := stemcelltest.ImageTgz(t, rootImg)
			other := stemcelltest.ImageTgz(t, []byte("another disk"))
			tarball := stemcelltest.Tgz(t, stemcelltest.File("stemcell.MF", stemcelltest.ManifestFor(other)), stemcelltest.File("image", image))
			_, err := stemcell.ReadHeavy(bytes.NewReader(tarball), nil)
			Expect(err).To(MatchError(fmt.Sprintf("stemcell image SHA-1 mismatch: stemcell.MF says %s, the image member has %s", stemcelltest.SHA1Hex(other), stemcelltest.SHA1Hex(image))))
			var mismatch *stemcell.ImageMismatchError
			Expect(errors.As(err, &mismatch)).To(BeTrue())
			Expect(mismatch.Got).To(Equal(stemcelltest.SHA1Hex(image)))
		})
	})

	context("unsafe or broken tarballs", func() {
		// spec parses this body with no *testing.T: fixtures are made inside each it.
		var image []byte
		var mf, img stemcelltest.Entry
		it.Before(func() {
			image = stemcelltest.ImageTgz(t, rootImg)
			mf = stemcelltest.File("stemcell.MF", stemcelltest.ManifestFor(image))
			img = stemcelltest.File("image", image)
		})
		hdr := func(name string, typ byte, size int64) tar.Header {
			return tar.Header{Name: name, Typeflag: typ, Mode: 0o644, Size: size, ModTime: time.Unix(0, 0)}
		}
		link := func(name, target string, typ byte) stemcelltest.Entry {
			h := hdr(name, typ, 0)
			h.Linkname = target
			return stemcelltest.Entry{Header: h}
		}
		many := func() []stemcelltest.Entry {
			out := []stemcelltest.Entry{mf, img}
			for i := 0; i < stemcell.MaxMembers; i++ {
				out = append(out, stemcelltest.File(fmt.Sprintf("f%d", i), nil))
			}
			return out
		}

		for _, tc := range []struct {
			what    string
			entries func() []stemcelltest.Entry
			err     string
		}{
			{"an absolute path", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, img, stemcelltest.File("/etc/passwd", []byte("x"))}
			},
				`stemcell tarball refused: member "/etc/passwd": absolute path`},
			{"a '..' path", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, img, stemcelltest.File("./a/../../evil", []byte("x"))}
			},
				`stemcell tarball refused: member "./a/../../evil": path has a '..' component`},
			{"a symbolic link", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, img, link("packages.txt", "/etc/shadow", tar.TypeSymlink)}
			},
				`stemcell tarball refused: member "packages.txt": is a symbolic link (to "/etc/shadow"); stemcells have none`},
			{"a hard link", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, img, link("packages.txt", "stemcell.MF", tar.TypeLink)}
			},
				`stemcell tarball refused: member "packages.txt": is a hard link (to "stemcell.MF"); stemcells have none`},
			{"a device", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, img, {Header: hdr("./dev/sda", tar.TypeBlock, 0)}}
			},
				`stemcell tarball refused: member "./dev/sda": is a device file`},
			{"a FIFO", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, img, {Header: hdr("pipe", tar.TypeFifo, 0)}}
			},
				`stemcell tarball refused: member "pipe": is a FIFO`},
			{"an absurdly large image", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, stemcelltest.HeaderOnly(hdr("image", tar.TypeReg, 65<<30))}
			},
				`stemcell tarball refused: member "image": is 69793218560 bytes, more than the 68719476736 a stemcell member may have`},
			{"a large member other than image", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, img, stemcelltest.HeaderOnly(hdr("./sbom.json", tar.TypeReg, 17<<20))}
			},
				`stemcell tarball refused: member "./sbom.json": is 17825792 bytes, more than the 16777216 a stemcell member other than image may have`},
			{"a large stemcell.MF", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{stemcelltest.File("stemcell.MF", bytes.Repeat([]byte("#"), 1<<20+1)), img}
			},
				`stemcell tarball refused: member "stemcell.MF": is 1048577 bytes, more than the 1048576 stemcell.MF may have`},
			{"too many members", many, `stemcell tarball refused: more than 1000 members`},
			{"a member twice", func() []stemcelltest.Entry { return []stemcelltest.Entry{mf, img, stemcelltest.File("./image", image)} },
				`stemcell tarball refused: member "./image": appears twice`},
			{"no stemcell.MF", func() []stemcelltest.Entry { return []stemcelltest.Entry{img} }, `stemcell tarball has no stemcell.MF`},
			{"no image", func() []stemcelltest.Entry { return []stemcelltest.Entry{mf} }, `stemcell tarball has no image`},
			{"nothing", func() []stemcelltest.Entry { return nil }, `stemcell tarball has no stemcell.MF and no image`},
			{"a link inside image", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, stemcelltest.File("image", stemcelltest.Tgz(t, link("./root.img", "/dev/sda", tar.TypeSymlink)))}
			},
				`stemcell image refused: member "./root.img": is a symbolic link (to "/dev/sda"); stemcells have none`},
			{"an image without root.img", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{stemcelltest.File("stemcell.MF", stemcelltest.ManifestFor(stemcelltest.Tgz(t, stemcelltest.File("disk.raw", rootImg)))), stemcelltest.File("image", stemcelltest.Tgz(t, stemcelltest.File("disk.raw", rootImg)))}
			},
				`stemcell bosh-alicloud-kvm-ubuntu-noble/1.484: image holds no root.img`},
			{"an image that is not a tgz", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{mf, stemcelltest.File("image", []byte("raw disk bytes, not gzip"))}
			},
				`stemcell member image is not a gzipped tar: gzip: invalid header`},
			{"an empty image (a light stemcell's)", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{stemcelltest.File("stemcell.MF", stemcelltest.ManifestFor(nil)), stemcelltest.File("image", nil)}
			},
				`stemcell bosh-alicloud-kvm-ubuntu-noble/1.484: image is empty (a light stemcell's image), not a heavy stemcell's disk image`},
			{"a light stemcell.MF", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{stemcelltest.File("stemcell.MF", append(stemcelltest.ManifestFor(image), "  image_id:\n    cn-hangzhou: m-1\n"...)), img}
			},
				`stemcell bosh-alicloud-kvm-ubuntu-noble/1.484 is a light stemcell (it has cloud_properties.image_id), not a heavy one`},
			{"an invalid stemcell.MF", func() []stemcelltest.Entry {
				return []stemcelltest.Entry{stemcelltest.File("stemcell.MF", []byte(strings.Replace(string(stemcelltest.ManifestFor(image)), "infrastructure: alicloud", "infrastructure: aws", 1))), img}
			},
				`stemcell.MF: cloud_properties.infrastructure is "aws", want alicloud`},
		} {
			it("refuses "+tc.what+" naming it", func() {
				_, err := stemcell.ReadHeavy(bytes.NewReader(stemcelltest.Tgz(t, tc.entries()...)), func(r io.Reader, _ int64) error {
					_, err := io.Copy(io.Discard, r)
					return err
				})
				Expect(err).To(MatchError(tc.err))
			})
		}

		it("refuses what is not gzipped", func() {
			_, err := stemcell.ReadHeavy(strings.NewReader("plain text"), nil)
			Expect(err).To(MatchError(HavePrefix("not a gzipped stemcell tarball: ")))
		})

		it("refuses a truncated tarball", func() {
			tarball, _ := stemcelltest.HeavyStemcell(t, rootImg)
			_, err := stemcell.ReadHeavy(bytes.NewReader(tarball[:len(tarball)-20]), nil)
			Expect(err).To(HaveOccurred())
		})
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
