package sim

import (
	"hash/crc64"
	"math/rand/v2"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
	"github.com/sclevine/spec/report"
)

func TestCRC64Combine(t *testing.T) {
	spec.Run(t, "crc64Combine", func(t *testing.T, _ spec.G, it spec.S) {
		var Expect = NewWithT(t).Expect
		it("gives the CRC of the whole from the CRCs of two pieces, wherever the split", func() {
			table := crc64.MakeTable(crc64.ECMA)
			data := make([]byte, 300_000)
			_, _ = rand.NewChaCha8([32]byte{9}).Read(data) // ChaCha8.Read always fills data and returns nil
			whole := crc64.Checksum(data, table)
			for _, split := range []int{0, 1, 7, 4096, 150_000, 299_999, 300_000} {
				a, b := data[:split], data[split:]
				Expect(crc64Combine(crc64.Checksum(a, table), crc64.Checksum(b, table), int64(len(b)))).To(Equal(whole), "split at %d", split)
			}
		})
	}, spec.Report(report.Terminal{}))
}
