package sim_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	. "github.com/onsi/gomega"
	"github.com/sclevine/spec"
)

func testListing(t *testing.T, context spec.G, it spec.S) {
	var (
		Expect = NewWithT(t).Expect
		e      *env
		c      *oss.Client
		ctx    = contextBackground()
	)

	it.Before(func() {
		e = newEnv(t)
		c = e.ossClient()
		e.mustBucket(c, "listing")
	})

	putAll := func(keys []string) {
		t.Helper()
		var wg sync.WaitGroup
		work := make(chan string)
		errs := make(chan error, len(keys))
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range work {
					if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("listing"), Key: oss.Ptr(k), Body: strings.NewReader(k)}); err != nil {
						errs <- err
					}
				}
			}()
		}
		for _, k := range keys {
			work <- k
		}
		close(work)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("PutObject: %v", err)
		}
	}

	context("more keys than one page", func() {
		it("pages 2,500 keys 1,000 at a time with both ListObjects and ListObjectsV2", func() {
			var keys []string
			for i := range 2500 {
				keys = append(keys, fmt.Sprintf("page/%04d", i))
			}
			putAll(keys)

			// ListObjects (V1) with markers, by hand.
			var got, pages []string
			marker := ""
			for range 10 {
				res, err := c.ListObjects(ctx, &oss.ListObjectsRequest{Bucket: oss.Ptr("listing"), MaxKeys: 1000, Marker: oss.Ptr(marker)})
				Expect(err).NotTo(HaveOccurred())
				Expect(res.MaxKeys).To(Equal(int32(1000)))
				pages = append(pages, fmt.Sprint(len(res.Contents)))
				for _, o := range res.Contents {
					got = append(got, *o.Key)
					Expect(o.Size).To(Equal(int64(len(*o.Key))))
				}
				if !res.IsTruncated {
					Expect(res.NextMarker).To(BeNil())
					break
				}
				Expect(*res.NextMarker).To(Equal(got[len(got)-1]))
				marker = *res.NextMarker
			}
			Expect(pages).To(Equal([]string{"1000", "1000", "500"}))
			Expect(got).To(Equal(keys))

			// ListObjectsV2 with continuation tokens, through the SDK's paginator.
			got, pages = nil, nil
			p := c.NewListObjectsV2Paginator(&oss.ListObjectsV2Request{Bucket: oss.Ptr("listing"), MaxKeys: 1000})
			for i := 0; p.HasNext() && i < 10; i++ {
				res, err := p.NextPage(ctx)
				Expect(err).NotTo(HaveOccurred())
				Expect(res.KeyCount).To(Equal(len(res.Contents)))
				pages = append(pages, fmt.Sprint(res.KeyCount))
				for _, o := range res.Contents {
					got = append(got, *o.Key)
				}
				Expect(len(pages)).To(BeNumerically("<=", 3))
			}
			Expect(pages).To(Equal([]string{"1000", "1000", "500"}))
			Expect(got).To(Equal(keys))

			// The V1 paginator too, and the default page of 100.
			n := 0
			p1 := c.NewListObjectsPaginator(&oss.ListObjectsRequest{Bucket: oss.Ptr("listing"), MaxKeys: 1000})
			for i := 0; p1.HasNext() && i < 10; i++ {
				res, err := p1.NextPage(ctx)
				Expect(err).NotTo(HaveOccurred())
				n += len(res.Contents)
			}
			Expect(n).To(Equal(2500))
			res, err := c.ListObjects(ctx, &oss.ListObjectsRequest{Bucket: oss.Ptr("listing")})
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Contents).To(HaveLen(100))
			Expect(res.IsTruncated).To(BeTrue())
		})
	})

	context("a delimiter", func() {
		keys := []string{"a/1", "a/2", "a/b/3", "b", "c/x", "c/y/z"}

		it("rolls keys up into common prefixes", func() {
			putAll(keys)
			res, err := c.ListObjects(ctx, &oss.ListObjectsRequest{Bucket: oss.Ptr("listing"), Delimiter: oss.Ptr("/")})
			Expect(err).NotTo(HaveOccurred())
			Expect(contentKeys(res.Contents)).To(Equal([]string{"b"}))
			Expect(prefixes(res.CommonPrefixes)).To(Equal([]string{"a/", "c/"}))

			v2, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("listing"), Delimiter: oss.Ptr("/"), Prefix: oss.Ptr("a/")})
			Expect(err).NotTo(HaveOccurred())
			Expect(contentKeys(v2.Contents)).To(Equal([]string{"a/1", "a/2"}))
			Expect(prefixes(v2.CommonPrefixes)).To(Equal([]string{"a/b/"}))
			Expect(v2.KeyCount).To(Equal(3))
			Expect(*v2.Prefix).To(Equal("a/"))
		})

		it("pages across common prefixes without repeating one", func() {
			putAll(keys)
			var seen []string
			marker := ""
			for range 10 {
				res, err := c.ListObjects(ctx, &oss.ListObjectsRequest{Bucket: oss.Ptr("listing"), Delimiter: oss.Ptr("/"), MaxKeys: 1, Marker: oss.Ptr(marker)})
				Expect(err).NotTo(HaveOccurred())
				seen = append(seen, contentKeys(res.Contents)...)
				seen = append(seen, prefixes(res.CommonPrefixes)...)
				if !res.IsTruncated {
					break
				}
				marker = *res.NextMarker
			}
			Expect(seen).To(Equal([]string{"a/", "b", "c/"}))

			seen = nil
			p := c.NewListObjectsV2Paginator(&oss.ListObjectsV2Request{Bucket: oss.Ptr("listing"), Delimiter: oss.Ptr("/"), MaxKeys: 1})
			for i := 0; p.HasNext() && i < 10; i++ {
				res, err := p.NextPage(ctx)
				Expect(err).NotTo(HaveOccurred())
				seen = append(seen, contentKeys(res.Contents)...)
				seen = append(seen, prefixes(res.CommonPrefixes)...)
			}
			Expect(seen).To(Equal([]string{"a/", "b", "c/"}))
		})
	})

	context("ListObjectsV2 options", func() {
		it("honours start-after and fetch-owner", func() {
			putAll([]string{"k1", "k2", "k3"})
			res, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("listing"), StartAfter: oss.Ptr("k1")})
			Expect(err).NotTo(HaveOccurred())
			Expect(contentKeys(res.Contents)).To(Equal([]string{"k2", "k3"}))
			Expect(res.Contents[0].Owner).To(BeNil())
			Expect(*res.StartAfter).To(Equal("k1"))

			res, err = c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("listing"), FetchOwner: true})
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Contents[0].Owner).NotTo(BeNil())
			Expect(*res.Contents[0].Owner.ID).To(MatchRegexp(`^\d{16}$`))
			Expect(*res.Contents[0].ETag).To(MatchRegexp(`^"[0-9A-F]{32}"$`))
			Expect(res.Contents[0].LastModified).NotTo(BeNil())
		})

		it("refuses max-keys above 1,000", func() {
			_, err := c.ListObjects(ctx, &oss.ListObjectsRequest{Bucket: oss.Ptr("listing"), MaxKeys: 1001})
			se := serviceError(err)
			Expect(se).NotTo(BeNil())
			Expect(se.StatusCode).To(Equal(400))
			Expect(se.Code).To(Equal("InvalidArgument"))
		})
	})
}

func contentKeys(cs []oss.ObjectProperties) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, *c.Key)
	}
	return out
}

func prefixes(ps []oss.CommonPrefix) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, *p.Prefix)
	}
	sort.Strings(out)
	return out
}
