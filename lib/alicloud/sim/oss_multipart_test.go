package sim_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

// multipartETag is OSS's ETag of a multipart object, computed here independently.
func multipartETag(body []byte, partSize int) string {
	var sums []byte
	n := 0
	for off := 0; off < len(body); off += partSize {
		s := md5.Sum(body[off:min(off+partSize, len(body))])
		sums = append(sums, s[:]...)
		n++
	}
	all := md5.Sum(sums)
	return fmt.Sprintf(`"%s-%d"`, strings.ToUpper(hex.EncodeToString(all[:])), n)
}

func testMultipart(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
		c      *oss.Client
		ctx    = contextBackground()
	)
	const partSize = 100 * 1024

	it.Before(func() {
		e = newEnv(t)
		c = e.ossClient()
		e.mustBucket(c, "multi")
	})

	context("the SDK's Uploader with parallel parts", func() {
		for _, signing := range []struct {
			name string
			opts []clientOpt
		}{{"V4", nil}, {"V1", []clientOpt{v1Signing}}} {
			it("assembles the object with OSS's multipart ETag and a matching CRC-64 ("+signing.name+")", func() {
				c := e.ossClient(signing.opts...)
				body := randomBody(11*partSize - 1234)
				src := filepath.Join(t.TempDir(), "stemcell.tgz")
				Expect(os.WriteFile(src, body, 0o600)).To(Succeed())
				key := "multi part/ü-stemcell.tgz"
				res, err := c.NewUploader(func(o *oss.UploaderOptions) {
					o.PartSize = partSize
					o.ParallelNum = 4
				}).UploadFile(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr(key),
					Metadata: map[string]string{"sha1": "x"}, ContentType: oss.Ptr("application/gzip")}, src)
				Expect(err).NotTo(HaveOccurred()) // the Uploader compared the combined part CRCs with the server's
				Expect(*res.ETag).To(Equal(multipartETag(body, partSize)))
				crc := oss.NewCRC64(0)
				crc.Write(body)
				Expect(*res.HashCRC64).To(Equal(strconv.FormatUint(crc.Sum64(), 10)))

				head, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr(key)})
				Expect(err).NotTo(HaveOccurred())
				Expect(*head.ObjectType).To(Equal("Multipart"))
				Expect(head.ContentLength).To(Equal(int64(len(body))))
				Expect(head.Metadata).To(Equal(map[string]string{"sha1": "x"}))
				Expect(*head.ContentType).To(Equal("application/gzip"))
				Expect(e.mustGet(c, "multi", key)).To(Equal(string(body)))

				parts := 0
				for _, en := range e.srv.Journal() {
					if en.Action == "UploadPart" && en.Status == 200 {
						parts++
					}
				}
				Expect(parts).To(Equal(11))
			})
		}
	})

	context("the multipart calls one by one", func() {
		var uploadID string
		body := randomBody(2*partSize + 10)
		upload := func(n int32, data []byte) *oss.UploadPartResult {
			t.Helper()
			res, err := c.UploadPart(ctx, &oss.UploadPartRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"),
				UploadId: oss.Ptr(uploadID), PartNumber: n, Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", n, err)
			}
			return res
		}

		it.Before(func() {
			res, err := c.InitiateMultipartUpload(ctx, &oss.InitiateMultipartUploadRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj")})
			Expect(err).NotTo(HaveOccurred())
			Expect(*res.UploadId).To(MatchRegexp(`^[0-9A-F]{32}$`))
			Expect(*res.Key).To(Equal("obj"))
			uploadID = *res.UploadId
		})

		it("lists parts and uploads, and completes with the listed parts", func() {
			p2 := upload(2, body[partSize:2*partSize])
			p1 := upload(1, body[:partSize])
			p3 := upload(3, body[2*partSize:])
			sum := md5.Sum(body[:partSize])
			Expect(*p1.ETag).To(Equal(`"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`))

			parts, err := c.ListParts(ctx, &oss.ListPartsRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"), UploadId: oss.Ptr(uploadID), MaxParts: 2})
			Expect(err).NotTo(HaveOccurred())
			Expect(parts.Parts).To(HaveLen(2))
			Expect(parts.IsTruncated).To(BeTrue())
			Expect(parts.NextPartNumberMarker).To(Equal(int32(2)))
			Expect(parts.Parts[0].Size).To(Equal(int64(partSize)))
			Expect(*parts.Parts[0].HashCRC64).To(Equal(*p1.HashCRC64))
			more, err := c.ListParts(ctx, &oss.ListPartsRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"), UploadId: oss.Ptr(uploadID), PartNumberMarker: 2})
			Expect(err).NotTo(HaveOccurred())
			Expect(more.Parts).To(HaveLen(1))
			Expect(more.Parts[0].Size).To(Equal(int64(10)))

			uploads, err := c.ListMultipartUploads(ctx, &oss.ListMultipartUploadsRequest{Bucket: oss.Ptr("multi")})
			Expect(err).NotTo(HaveOccurred())
			Expect(uploads.Uploads).To(HaveLen(1))
			Expect(*uploads.Uploads[0].UploadId).To(Equal(uploadID))
			Expect(*uploads.Uploads[0].Key).To(Equal("obj"))

			done, err := c.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"), UploadId: oss.Ptr(uploadID),
				CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: []oss.UploadPart{
					{PartNumber: 3, ETag: p3.ETag}, {PartNumber: 1, ETag: p1.ETag}, {PartNumber: 2, ETag: p2.ETag}, // the SDK sorts them
				}}})
			Expect(err).NotTo(HaveOccurred())
			Expect(*done.ETag).To(Equal(multipartETag(body, partSize)))
			Expect(*done.Key).To(Equal("obj"))
			Expect(*done.Bucket).To(Equal("multi"))
			Expect(e.mustGet(c, "multi", "obj")).To(Equal(string(body)))

			_, err = c.ListParts(ctx, &oss.ListPartsRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"), UploadId: oss.Ptr(uploadID)})
			Expect(serviceError(err).Code).To(Equal("NoSuchUpload"))
		})

		it("refuses a bad part list: unknown ETag, repeated number, small middle part", func() {
			p1 := upload(1, body[:partSize])
			complete := func(parts ...oss.UploadPart) *oss.ServiceError {
				_, err := c.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"),
					UploadId: oss.Ptr(uploadID), CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: parts}})
				return serviceError(err)
			}
			Expect(complete(oss.UploadPart{PartNumber: 1, ETag: oss.Ptr(`"00000000000000000000000000000000"`)}).Code).To(Equal("InvalidPart"))
			Expect(complete(oss.UploadPart{PartNumber: 2, ETag: p1.ETag}).Code).To(Equal("InvalidPart"))
			Expect(complete(oss.UploadPart{PartNumber: 1, ETag: p1.ETag}, oss.UploadPart{PartNumber: 1, ETag: p1.ETag}).Code).To(Equal("InvalidPartOrder"))

			small := upload(2, []byte("tiny"))
			upload(3, []byte("tail"))
			se := complete(oss.UploadPart{PartNumber: 2, ETag: small.ETag}, oss.UploadPart{PartNumber: 3, ETag: oss.Ptr(`"` + md5hex("tail") + `"`)})
			Expect(se.StatusCode).To(Equal(400))
			Expect(se.Code).To(Equal("EntityTooSmall"))

			// The upload survives refused completions.
			Expect(complete(oss.UploadPart{PartNumber: 1, ETag: p1.ETag})).To(BeNil())
			Expect(e.mustGet(c, "multi", "obj")).To(Equal(string(body[:partSize])))
		})

		it("aborts, after which the upload is gone", func() {
			upload(1, body[:partSize])
			_, err := c.AbortMultipartUpload(ctx, &oss.AbortMultipartUploadRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"), UploadId: oss.Ptr(uploadID)})
			Expect(err).NotTo(HaveOccurred())
			_, err = c.UploadPart(ctx, &oss.UploadPartRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"), UploadId: oss.Ptr(uploadID), PartNumber: 2, Body: strings.NewReader("x")})
			se := serviceError(err)
			Expect(se.StatusCode).To(Equal(404))
			Expect(se.Code).To(Equal("NoSuchUpload"))
			uploads, err := c.ListMultipartUploads(ctx, &oss.ListMultipartUploadsRequest{Bucket: oss.Ptr("multi")})
			Expect(err).NotTo(HaveOccurred())
			Expect(uploads.Uploads).To(BeEmpty())
			_, err = c.DeleteBucket(ctx, &oss.DeleteBucketRequest{Bucket: oss.Ptr("multi")})
			Expect(err).NotTo(HaveOccurred())
		})

		it("honours forbid-overwrite on completion", func() {
			p1 := upload(1, body[:partSize])
			e.mustPut(c, "multi", "obj", "already here")
			_, err := c.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"),
				UploadId: oss.Ptr(uploadID), ForbidOverwrite: oss.Ptr("true"),
				CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: []oss.UploadPart{{PartNumber: 1, ETag: p1.ETag}}}})
			Expect(serviceError(err).Code).To(Equal("FileAlreadyExists"))
			Expect(e.mustGet(c, "multi", "obj")).To(Equal("already here"))
		})

		it("copies a range of another object as a part", func() {
			src := randomBody(3 * partSize)
			_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("source"), Body: bytes.NewReader(src)})
			Expect(err).NotTo(HaveOccurred())
			cp, err := c.UploadPartCopy(ctx, &oss.UploadPartCopyRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"), UploadId: oss.Ptr(uploadID),
				PartNumber: 1, SourceKey: oss.Ptr("source"), Range: oss.Ptr(fmt.Sprintf("bytes=%d-%d", partSize, 2*partSize-1))})
			Expect(err).NotTo(HaveOccurred())
			_, err = c.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj"),
				UploadId: oss.Ptr(uploadID), CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: []oss.UploadPart{{PartNumber: 1, ETag: cp.ETag}}}})
			Expect(err).NotTo(HaveOccurred())
			get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("multi"), Key: oss.Ptr("obj")})
			Expect(err).NotTo(HaveOccurred())
			got, err := io.ReadAll(get.Body)
			Expect(err).NotTo(HaveOccurred())
			Expect(get.Body.Close()).To(Succeed())
			Expect(got).To(Equal(src[partSize : 2*partSize]))
		})
	})
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
