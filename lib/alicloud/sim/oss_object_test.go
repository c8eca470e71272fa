package sim_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testBuckets(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
		ctx    = contextBackground()
	)

	it.Before(func() {
		e = newEnv(t)
	})

	context("PutBucket", func() {
		it("records the V4 scope region as the bucket's region", func() {
			c := e.ossClient(withRegion(remoteRegion))
			e.mustBucket(c, "eu-bucket")
			region, ok := e.srv.BucketRegion("eu-bucket")
			Expect(ok).To(BeTrue())
			Expect(region).To(Equal(remoteRegion))

			loc, err := c.GetBucketLocation(ctx, &oss.GetBucketLocationRequest{Bucket: oss.Ptr("eu-bucket")})
			Expect(err).NotTo(HaveOccurred())
			Expect(*loc.LocationConstraint).To(Equal("oss-" + remoteRegion))

			info, err := c.GetBucketInfo(ctx, &oss.GetBucketInfoRequest{Bucket: oss.Ptr("eu-bucket")})
			Expect(err).NotTo(HaveOccurred())
			Expect(*info.BucketInfo.Name).To(Equal("eu-bucket"))
			Expect(*info.BucketInfo.Location).To(Equal("oss-" + remoteRegion))
			Expect(*info.BucketInfo.ACL).To(Equal("private"))
			Expect(*info.BucketInfo.ExtranetEndpoint).To(Equal("oss-" + remoteRegion + ".aliyuncs.com"))
			Expect(info.BucketInfo.CreationDate).NotTo(BeNil())
		})

		it("puts V1-signed buckets in the default region", func() {
			e.mustBucket(e.ossClient(v1Signing), "v1-bucket")
			region, _ := e.srv.BucketRegion("v1-bucket")
			Expect(region).To(Equal(homeRegion))
		})

		it("refuses a taken name with 409 BucketAlreadyExists", func() {
			e.mustBucket(e.ossClient(), "taken")
			_, err := e.ossClient(withKeys(otherKeyID, otherSecret)).PutBucket(ctx, &oss.PutBucketRequest{Bucket: oss.Ptr("taken")})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(409))
			Expect(se.Code).To(Equal("BucketAlreadyExists"))
			Expect(se.EC).To(Equal("0015-00000102"))
		})

		it("refuses invalid bucket names", func() {
			_, err := e.ossClient(v1Signing).PutBucket(ctx, &oss.PutBucketRequest{Bucket: oss.Ptr("ab")})
			// The SDK validates names itself; a raw request shows the server agrees.
			Expect(err).To(HaveOccurred())
			status, _, body, err := rawGet(e.url + "/Bad_Name/")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(400))
			Expect(body).To(ContainSubstring("<Code>InvalidBucketName</Code>"))
		})
	})

	context("a V4 request signed for another region", func() {
		it("is refused with the bucket's endpoint, as a regional OSS endpoint does", func() {
			e.mustBucket(e.ossClient(withRegion(remoteRegion)), "eu-only")
			_, err := e.ossClient().PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("eu-only"), Key: oss.Ptr("k"), Body: strings.NewReader("x")})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(403))
			Expect(se.Code).To(Equal("AccessDenied"))
			Expect(string(se.Snapshot)).To(ContainSubstring("<Endpoint>oss-eu-central-1.aliyuncs.com</Endpoint>"))
		})
	})

	context("DeleteBucket", func() {
		it("refuses a bucket with objects, then deletes it once empty", func() {
			c := e.ossClient()
			e.mustBucket(c, "doomed")
			e.mustPut(c, "doomed", "k", "v")
			_, err := c.DeleteBucket(ctx, &oss.DeleteBucketRequest{Bucket: oss.Ptr("doomed")})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(409))
			Expect(se.Code).To(Equal("BucketNotEmpty"))

			_, err = c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: oss.Ptr("doomed"), Key: oss.Ptr("k")})
			Expect(err).NotTo(HaveOccurred())
			_, err = c.DeleteBucket(ctx, &oss.DeleteBucketRequest{Bucket: oss.Ptr("doomed")})
			Expect(err).NotTo(HaveOccurred())

			exists, err := c.IsBucketExist(ctx, "doomed")
			Expect(err).NotTo(HaveOccurred())
			Expect(exists).To(BeFalse())
		})
	})

	context("ListBuckets and IsBucketExist", func() {
		it("lists the caller's own buckets only", func() {
			e.mustBucket(e.ossClient(), "mine-1")
			e.mustBucket(e.ossClient(), "mine-2")
			e.mustBucket(e.ossClient(withKeys(otherKeyID, otherSecret)), "theirs")
			res, err := e.ossClient().ListBuckets(ctx, &oss.ListBucketsRequest{})
			Expect(err).NotTo(HaveOccurred())
			var names []string
			for _, b := range res.Buckets {
				names = append(names, *b.Name)
			}
			Expect(names).To(Equal([]string{"mine-1", "mine-2"}))

			exists, err := e.ossClient().IsBucketExist(ctx, "mine-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(exists).To(BeTrue())
		})
	})
}

func testObjects(t *testing.T, context spec.G, it spec.S) {
	var (
		g          = NewWithT(t)
		Expect     = g.Expect
		Eventually = g.Eventually
		e          *env
		c          *oss.Client
		ctx        = contextBackground()
	)

	it.Before(func() {
		e = newEnv(t)
		c = e.ossClient()
		e.mustBucket(c, "objects")
	})

	context("PutObject and GetObject", func() {
		it("round-trip body, metadata and headers, with OSS's ETag and CRC-64", func() {
			body := randomBody(70_000)
			put, err := c.PutObject(ctx, &oss.PutObjectRequest{
				Bucket: oss.Ptr("objects"), Key: oss.Ptr("dir/file.tgz"), Body: bytes.NewReader(body),
				Metadata:    map[string]string{"Release": "bosh-61", "sha1": "abc"},
				ContentType: oss.Ptr("application/x-gzip"), CacheControl: oss.Ptr("no-cache"),
			})
			Expect(err).NotTo(HaveOccurred()) // the SDK checked x-oss-hash-crc64ecma
			sum := md5.Sum(body)
			Expect(*put.ETag).To(Equal(`"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`))
			crc := oss.NewCRC64(0)
			crc.Write(body)
			Expect(*put.HashCRC64).To(Equal(strconv.FormatUint(crc.Sum64(), 10)))
			Expect(*put.ContentMD5).To(Equal(base64.StdEncoding.EncodeToString(sum[:])))

			get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("dir/file.tgz")})
			Expect(err).NotTo(HaveOccurred())
			got, err := io.ReadAll(get.Body)
			Expect(err).NotTo(HaveOccurred())
			Expect(get.Body.Close()).To(Succeed())
			Expect(got).To(Equal(body))
			Expect(get.ContentLength).To(Equal(int64(len(body))))
			Expect(*get.ContentType).To(Equal("application/x-gzip"))
			Expect(*get.ETag).To(Equal(*put.ETag))
			Expect(*get.HashCRC64).To(Equal(*put.HashCRC64))
			Expect(get.Metadata).To(Equal(map[string]string{"release": "bosh-61", "sha1": "abc"}))
			Expect(get.Headers.Get("Cache-Control")).To(Equal("no-cache"))
			Expect(get.Headers.Get("Server")).To(Equal("AliyunOSS"))
			Expect(get.Headers.Get("x-oss-request-id")).To(MatchRegexp(`^[0-9A-F]{24}$`))
			Expect(*get.ObjectType).To(Equal("Normal"))

			head, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("dir/file.tgz")})
			Expect(err).NotTo(HaveOccurred())
			Expect(head.ContentLength).To(Equal(int64(len(body))))
			Expect(*head.ETag).To(Equal(*put.ETag))
			Expect(head.Metadata["release"]).To(Equal("bosh-61"))
			Expect(head.LastModified).NotTo(BeNil())

			exists, err := c.IsObjectExist(ctx, "objects", "dir/file.tgz")
			Expect(err).NotTo(HaveOccurred())
			Expect(exists).To(BeTrue())
			exists, err = c.IsObjectExist(ctx, "objects", "dir/missing")
			Expect(err).NotTo(HaveOccurred())
			Expect(exists).To(BeFalse())
		})

		it("answers NoSuchKey and NoSuchBucket in OSS's format", func() {
			_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("nope")})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(404))
			Expect(se.Code).To(Equal("NoSuchKey"))
			Expect(se.EC).To(Equal("0026-00000001"))
			Expect(se.RequestID).To(MatchRegexp(`^[0-9A-F]{24}$`))
			Expect(string(se.Snapshot)).To(ContainSubstring("<HostId>"))

			_, err = c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr("no-bucket"), Key: oss.Ptr("k")})
			se = serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(404))
			Expect(se.Code).To(Equal("NoSuchBucket")) // from x-oss-err: HEAD has no body
		})

		it("verifies Content-MD5", func() {
			wrong := md5.Sum([]byte("something else"))
			_, err := c.PutObject(ctx, &oss.PutObjectRequest{
				Bucket: oss.Ptr("objects"), Key: oss.Ptr("k"), Body: strings.NewReader("body"),
				ContentMD5: oss.Ptr(base64.StdEncoding.EncodeToString(wrong[:])),
			})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(400))
			Expect(se.Code).To(Equal("InvalidDigest"))
			exists, err := c.IsObjectExist(ctx, "objects", "k")
			Expect(err).NotTo(HaveOccurred())
			Expect(exists).To(BeFalse())
		})

		it("answers 304 to a matching If-None-Match", func() {
			put := e.mustPut(c, "objects", "k", "v")
			_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("k"), IfNoneMatch: put.ETag})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(304))
			_, err = c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("k"), IfMatch: oss.Ptr(`"0000"`)})
			Expect(serviceError(err).StatusCode).To(Equal(412))
		})
	})

	context("keys that need URL encoding", func() {
		keys := []string{
			"a b+c%d?e#f&g=h;i",
			"unicode/ü€中文/файл.txt",
			"sym/!$'()*,:@[]~^`{}|\"<>",
			"trailing/slash/",
			"double//slash",
		}
		for _, signing := range []struct {
			name string
			opts []clientOpt
		}{{"V4", nil}, {"V1", []clientOpt{v1Signing}}} {
			it("round-trip through PutObject, GetObject, listing and DeleteObject ("+signing.name+")", func() {
				c := e.ossClient(signing.opts...)
				for i, k := range keys {
					e.mustPut(c, "objects", k, fmt.Sprint("body-", i))
				}
				for i, k := range keys {
					Expect(e.mustGet(c, "objects", k)).To(Equal(fmt.Sprint("body-", i)), k)
				}
				res, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("objects")})
				Expect(err).NotTo(HaveOccurred())
				var listed []string
				for _, o := range res.Contents {
					listed = append(listed, *o.Key)
				}
				Expect(listed).To(ConsistOf(keys))
				for _, k := range keys {
					_, err := c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr(k)})
					Expect(err).NotTo(HaveOccurred(), k)
				}
			})
		}
	})

	context("DeleteObject and DeleteMultipleObjects", func() {
		it("deletes idempotently", func() {
			e.mustPut(c, "objects", "k", "v")
			for range 2 {
				_, err := c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("k")})
				Expect(err).NotTo(HaveOccurred())
			}
			exists, err := c.IsObjectExist(ctx, "objects", "k")
			Expect(err).NotTo(HaveOccurred())
			Expect(exists).To(BeFalse())
		})

		it("deletes several keys, reporting each decoded", func() {
			for _, k := range []string{"x/1", "x/2 two", "x/3+"} {
				e.mustPut(c, "objects", k, k)
			}
			res, err := c.DeleteMultipleObjects(ctx, &oss.DeleteMultipleObjectsRequest{
				Bucket: oss.Ptr("objects"),
				Delete: &oss.Delete{Objects: []oss.ObjectIdentifier{{Key: oss.Ptr("x/1")}, {Key: oss.Ptr("x/2 two")}, {Key: oss.Ptr("x/3+")}, {Key: oss.Ptr("x/never")}}},
			})
			Expect(err).NotTo(HaveOccurred())
			var deleted []string
			for _, d := range res.DeletedObjects {
				deleted = append(deleted, *d.Key)
			}
			Expect(deleted).To(Equal([]string{"x/1", "x/2 two", "x/3+", "x/never"}))
			list, err := c.ListObjects(ctx, &oss.ListObjectsRequest{Bucket: oss.Ptr("objects")})
			Expect(err).NotTo(HaveOccurred())
			Expect(list.Contents).To(BeEmpty())
		})
	})

	context("CopyObject", func() {
		it("copies with or without new metadata and honours forbid-overwrite", func() {
			_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("src key"),
				Body: strings.NewReader("payload"), Metadata: map[string]string{"a": "1"}})
			Expect(err).NotTo(HaveOccurred())
			e.mustBucket(c, "other-bucket")

			cp, err := c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("other-bucket"), Key: oss.Ptr("copy"),
				SourceBucket: oss.Ptr("objects"), SourceKey: oss.Ptr("src key")})
			Expect(err).NotTo(HaveOccurred())
			Expect(cp.ETag).NotTo(BeNil())
			Expect(e.mustGet(c, "other-bucket", "copy")).To(Equal("payload"))
			head, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr("other-bucket"), Key: oss.Ptr("copy")})
			Expect(err).NotTo(HaveOccurred())
			Expect(head.Metadata).To(Equal(map[string]string{"a": "1"}))
			Expect(*head.ETag).To(Equal(*cp.ETag))

			_, err = c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("replaced"),
				SourceKey: oss.Ptr("src key"), MetadataDirective: oss.Ptr("REPLACE"), Metadata: map[string]string{"b": "2"}})
			Expect(err).NotTo(HaveOccurred())
			head, err = c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("replaced")})
			Expect(err).NotTo(HaveOccurred())
			Expect(head.Metadata).To(Equal(map[string]string{"b": "2"}))

			_, err = c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("replaced"),
				SourceKey: oss.Ptr("src key"), ForbidOverwrite: oss.Ptr("true")})
			Expect(serviceError(err).Code).To(Equal("FileAlreadyExists"))

			_, err = c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("x"), SourceKey: oss.Ptr("missing")})
			Expect(serviceError(err).Code).To(Equal("NoSuchKey"))

			// One endpoint serves one region: no copies from a bucket elsewhere.
			eu := e.ossClient(withRegion(remoteRegion))
			e.mustBucket(eu, "eu-source")
			e.mustPut(eu, "eu-source", "k", "v")
			_, err = c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("from-eu"),
				SourceBucket: oss.Ptr("eu-source"), SourceKey: oss.Ptr("k")})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(403))
			Expect(string(se.Snapshot)).To(ContainSubstring("<Endpoint>oss-eu-central-1.aliyuncs.com</Endpoint>"))
		})
	})

	context("x-oss-forbid-overwrite: true", func() {
		it("refuses to replace an existing key with 409 FileAlreadyExists", func() {
			req := func(body string) *oss.PutObjectRequest {
				return &oss.PutObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("lock"), Body: strings.NewReader(body), ForbidOverwrite: oss.Ptr("true")}
			}
			_, err := c.PutObject(ctx, req("first"))
			Expect(err).NotTo(HaveOccurred())
			_, err = c.PutObject(ctx, req("second"))
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(409))
			Expect(se.Code).To(Equal("FileAlreadyExists"))
			Expect(e.mustGet(c, "objects", "lock")).To(Equal("first"))
		})

		it("lets exactly one of many concurrent creators win", func() {
			const creators = 12
			var (
				wg      sync.WaitGroup
				arrived sync.WaitGroup
				mu      sync.Mutex
				wins    []int
				losses  int
				others  []error
			)
			// Every body sends its first chunk, then waits until all requests are past the
			// server's early existence check, so the decision falls to the commit.
			gate := make(chan struct{})
			arrived.Add(creators)
			for i := range creators {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := &gatedReader{data: bytes.Repeat([]byte{byte('a' + i)}, 50_000), gate: gate, arrived: &arrived}
					_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("race"),
						Body: body, ForbidOverwrite: oss.Ptr("true")})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins = append(wins, i)
					case serviceError(err) != nil && serviceError(err).Code == "FileAlreadyExists":
						losses++
					default:
						others = append(others, err)
					}
				}()
			}
			arrived.Wait()
			time.Sleep(200 * time.Millisecond)
			close(gate)
			wg.Wait()
			Expect(others).To(BeEmpty())
			Expect(wins).To(HaveLen(1))
			Expect(losses).To(Equal(creators - 1))
			Expect(e.mustGet(c, "objects", "race")).To(Equal(strings.Repeat(string(rune('a'+wins[0])), 50_000)))
		})
	})

	context("Range GETs", func() {
		var body []byte
		get := func(rng string, standard bool) (*oss.GetObjectResult, []byte, error) {
			req := &oss.GetObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("ranged"), Range: oss.Ptr(rng)}
			if standard {
				req.RangeBehavior = oss.Ptr("standard")
			}
			res, err := c.GetObject(ctx, req)
			if err != nil {
				return nil, nil, err
			}
			defer func() { _ = res.Body.Close() }() // read-only: its close has nothing to report
			b, err := io.ReadAll(res.Body)
			return res, b, err
		}

		it.Before(func() {
			body = randomBody(100)
			_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("ranged"), Body: bytes.NewReader(body)})
			Expect(err).NotTo(HaveOccurred())
		})

		it("serves single, suffix and open-ended ranges as 206 with Content-Range", func() {
			for _, tc := range []struct {
				rng          string
				from, to     int
				contentRange string
			}{
				{"bytes=10-19", 10, 20, "bytes 10-19/100"},
				{"bytes=-5", 95, 100, "bytes 95-99/100"},
				{"bytes=90-", 90, 100, "bytes 90-99/100"},
				{"bytes=0-0", 0, 1, "bytes 0-0/100"},
			} {
				res, got, err := get(tc.rng, false)
				Expect(err).NotTo(HaveOccurred(), tc.rng)
				Expect(res.StatusCode).To(Equal(206), tc.rng)
				Expect(*res.ContentRange).To(Equal(tc.contentRange))
				Expect(got).To(Equal(body[tc.from:tc.to]), tc.rng)
			}
		})

		it("ignores an unsatisfiable range (200, whole object) unless x-oss-range-behavior is standard", func() {
			for _, rng := range []string{"bytes=200-300", "bytes=50-200", "bytes=-500", "bytes=9-3"} {
				res, got, err := get(rng, false)
				Expect(err).NotTo(HaveOccurred(), rng)
				Expect(res.StatusCode).To(Equal(200), rng)
				Expect(res.ContentRange).To(BeNil())
				Expect(got).To(Equal(body), rng)
			}
			res, got, err := get("bytes=50-200", true)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.StatusCode).To(Equal(206))
			Expect(got).To(Equal(body[50:]))
			_, _, err = get("bytes=100-200", true)
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(416))
			Expect(se.Code).To(Equal("InvalidRange"))
		})

		it("feeds the SDK's Downloader with parallel ranges (CRC checked)", func() {
			big := randomBody(1_300_000)
			_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("big.img"), Body: bytes.NewReader(big)})
			Expect(err).NotTo(HaveOccurred())
			dst := filepath.Join(t.TempDir(), "big.img")
			res, err := c.NewDownloader(func(o *oss.DownloaderOptions) {
				o.PartSize = 200_000
				o.ParallelNum = 4
			}).DownloadFile(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("big.img")}, dst)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Written).To(Equal(int64(len(big))))
			got, err := os.ReadFile(dst)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(big))
			// Entries land when a handler returns, which may be after the client read the body.
			Eventually(func() int {
				ranged := 0
				for _, en := range e.srv.Journal() {
					if en.Action == "GetObject" && en.Key == "big.img" && en.Status == 206 {
						ranged++
					}
				}
				return ranged
			}).Should(Equal(7))
		})
	})

	context("ACLs and anonymous access", func() {
		it("serves public-read objects to anonymous GETs and nothing else", func() {
			e.mustPut(c, "objects", "private.txt", "secret")
			status, _, body, err := rawGet(e.url + "/objects/private.txt")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(403))
			Expect(body).To(ContainSubstring("<Code>AccessDenied</Code>"))

			_, err = c.PutObjectAcl(ctx, &oss.PutObjectAclRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("private.txt"), Acl: oss.ObjectACLPublicRead})
			Expect(err).NotTo(HaveOccurred())
			acl, err := c.GetObjectAcl(ctx, &oss.GetObjectAclRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("private.txt")})
			Expect(err).NotTo(HaveOccurred())
			Expect(*acl.ACL).To(Equal("public-read"))
			status, hdr, body, err := rawGet(e.url + "/objects/private.txt")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(200))
			Expect(body).To(Equal("secret"))
			Expect(hdr.Get("ETag")).NotTo(BeEmpty())

			// Set at upload time, with a key that needs encoding.
			_, err = c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("pub lic/ü.txt"),
				Body: strings.NewReader("hello"), Acl: oss.ObjectACLPublicReadWrite})
			Expect(err).NotTo(HaveOccurred())
			status, _, body, err = rawGet(e.url + "/objects/pub%20lic/%C3%BC.txt")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(200))
			Expect(body).To(Equal("hello"))

			// Anonymous listing and writes stay refused.
			status, _, _, err = rawGet(e.url + "/objects/")
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(403))
			resp, err := rawDo("PUT", e.url+"/objects/anon.txt", "x", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.status).To(Equal(403))
		})

		it("keeps another account out of a private bucket", func() {
			e.mustPut(c, "objects", "k", "v")
			_, err := e.ossClient(withKeys(otherKeyID, otherSecret)).GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("objects"), Key: oss.Ptr("k")})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(403))
			Expect(se.Code).To(Equal("AccessDenied"))
		})
	})
}

// gatedReader returns its first 8 KB at once, then blocks until gate closes.
type gatedReader struct {
	data    []byte
	off     int
	gate    <-chan struct{}
	arrived *sync.WaitGroup
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.off == 0 {
		n := copy(p[:min(len(p), 8<<10)], g.data)
		g.off = n
		g.arrived.Done()
		return n, nil
	}
	<-g.gate
	if g.off >= len(g.data) {
		return 0, io.EOF
	}
	n := copy(p, g.data[g.off:])
	g.off += n
	return n, nil
}
