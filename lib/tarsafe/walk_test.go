package tarsafe_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"

	"github.com/bosh-alicloud/concourse-pack/lib/tarsafe"
)

func testWalk(t *testing.T, _ spec.G, it spec.S) {
	var Expect = NewWithT(t).Expect
	tgz := func(members map[string]string, order ...string) []byte {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, name := range order {
			Expect(tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(members[name]))})).To(Succeed())
			_, err := tw.Write([]byte(members[name]))
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(tw.Close()).To(Succeed())
		Expect(gz.Close()).To(Succeed())
		return buf.Bytes()
	}

	it("gives each member in order with its content", func() {
		var seen []string
		err := tarsafe.Walk(bytes.NewReader(tgz(map[string]string{"a": "1", "b": "22"}, "a", "b")), "test tarball", func(h *tar.Header, r io.Reader) error {
			body, err := io.ReadAll(r)
			seen = append(seen, h.Name+"="+string(body))
			return err
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(seen).To(Equal([]string{"a=1", "b=22"}))
	})

	it("names the tarball when it is not gzip, and when its trailer is broken", func() {
		err := tarsafe.Walk(bytes.NewReader([]byte("plain text")), "release tarball", nil)
		Expect(err).To(MatchError(HavePrefix("not a gzipped release tarball")))

		data := tgz(map[string]string{"a": "1"}, "a")
		data[len(data)-8] ^= 0xff // the gzip CRC
		err = tarsafe.Walk(bytes.NewReader(data), "stemcell tarball", func(*tar.Header, io.Reader) error { return nil })
		Expect(err).To(MatchError(ContainSubstring("stemcell tarball")))
	})

	it("stops at the first error of a member, returning it as it is", func() {
		stop := errors.New("refused")
		calls := 0
		err := tarsafe.Walk(bytes.NewReader(tgz(map[string]string{"a": "1", "b": "2"}, "a", "b")), "t", func(*tar.Header, io.Reader) error {
			calls++
			return stop
		})
		Expect(err).To(BeIdenticalTo(stop))
		Expect(calls).To(Equal(1))
	})
}
