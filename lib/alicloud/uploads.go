package alicloud

import (
	"context"
	"fmt"
	"hash/crc64"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
)

// PendingUpload is a multipart upload that was initiated and neither completed nor aborted:
// its parts take space (and cost) until it is aborted. A killed run leaves one behind.
type PendingUpload struct {
	Name      string // the object it would create, relative to the store's prefix
	ID        string
	Initiated time.Time
}

// Uploads lists the pending multipart uploads whose object name starts with prefix (all
// pages), by name, then initiation.
func (st *Store) Uploads(ctx context.Context, prefix string) ([]PendingUpload, error) {
	var (
		out             []PendingUpload
		keyMarker, next *string
	)
	for {
		var page *oss.ListMultipartUploadsResult
		err := st.do(ctx, "ListMultipartUploads", prefix, func(ctx context.Context) (err error) {
			page, err = st.client.ListMultipartUploads(ctx, &oss.ListMultipartUploadsRequest{
				Bucket: oss.Ptr(st.bucket), Prefix: oss.Ptr(st.Key(prefix)), MaxUploads: 1000,
				KeyMarker: keyMarker, UploadIdMarker: next,
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, u := range page.Uploads {
			key := oss.ToString(u.Key)
			if !strings.HasPrefix(key, st.prefix) {
				continue // OSS filters by prefix; an answer outside it is not ours to touch
			}
			p := PendingUpload{Name: strings.TrimPrefix(key, st.prefix), ID: oss.ToString(u.UploadId)}
			if u.Initiated != nil {
				p.Initiated = *u.Initiated
			}
			out = append(out, p)
		}
		if !page.IsTruncated {
			return out, nil
		}
		keyMarker, next = page.NextKeyMarker, page.NextUploadIdMarker
	}
}

// AbortUpload aborts one pending upload, freeing its parts; one already gone is not an error.
func (st *Store) AbortUpload(ctx context.Context, u PendingUpload) error {
	err := st.do(ctx, "AbortMultipartUpload", u.Name, func(ctx context.Context) error {
		_, err := st.client.AbortMultipartUpload(ctx, &oss.AbortMultipartUploadRequest{
			Bucket: oss.Ptr(st.bucket), Key: oss.Ptr(st.Key(u.Name)), UploadId: oss.Ptr(u.ID),
		})
		return err
	})
	if err == nil || HasCode(err, "NoSuchUpload") {
		return nil
	}
	return fmt.Errorf("upload %s: %w", u.ID, err)
}

// AbortUploadsOf aborts the pending uploads of exactly the object name (never of a name it
// is only a prefix of) and returns them: what a killed run of the same work left behind.
func (st *Store) AbortUploadsOf(ctx context.Context, name string) ([]PendingUpload, error) {
	pending, err := st.Uploads(ctx, name)
	if err != nil {
		return nil, err
	}
	var aborted []PendingUpload
	for _, u := range pending {
		if u.Name != name {
			continue
		}
		if err := st.AbortUpload(ctx, u); err != nil {
			return aborted, err
		}
		aborted = append(aborted, u)
	}
	return aborted, nil
}

// AbortStaleUploads aborts the pending uploads under prefix initiated more than olderThan ago
// (only lists them when dryRun) and returns them: the retention of what killed runs left.
// Younger ones may belong to a run still going, and are left alone.
func (st *Store) AbortStaleUploads(ctx context.Context, prefix string, olderThan time.Duration, dryRun bool) ([]PendingUpload, error) {
	pending, err := st.Uploads(ctx, prefix)
	if err != nil {
		return nil, err
	}
	cutoff := time.Now().Add(-olderThan)
	var stale []PendingUpload
	for _, u := range pending {
		if u.Initiated.IsZero() || !u.Initiated.Before(cutoff) {
			continue
		}
		if !dryRun {
			if err := st.AbortUpload(ctx, u); err != nil {
				return stale, err
			}
		}
		stale = append(stale, u)
	}
	return stale, nil
}

// CRC64 is the CRC-64 of r as OSS reports an object's (x-oss-hash-crc64ecma, decimal), and
// the number of bytes read: what a local file is compared with to know a stored object holds it.
func CRC64(r io.Reader) (string, int64, error) {
	h := crc64.New(crc64.MakeTable(crc64.ECMA))
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return strconv.FormatUint(h.Sum64(), 10), n, nil
}
