package alicloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/bosh-alicloud/concourse-pack/lib/panics"
)

// multipart uploads everything r yields as object name: parts of PartSize read in order into at
// most Parallel+1 buffers, uploaded Parallel at a time, each retried on its own; then completed,
// or aborted on any failure. first is an empty slice whose backing array may be reused as a part
// buffer: the caller's initial read, which r replays from that same array before anything else.
//
// sums sees every byte r yields, so once r is drained it holds the object's size and CRC-64: a
// completion whose answer was lost is recognised by them (see complete).
func (st *Store) multipart(ctx context.Context, name string, request *oss.PutObjectRequest, r io.Reader, first []byte, opts UploadOptions, sums *digests) (*oss.CompleteMultipartUploadResult, error) {
	initiate := &oss.InitiateMultipartUploadRequest{Bucket: request.Bucket, Key: request.Key, ContentType: request.ContentType,
		Metadata: request.Metadata, ForbidOverwrite: request.ForbidOverwrite}
	var started *oss.InitiateMultipartUploadResult
	err := st.do(ctx, "InitiateMultipartUpload", name, func(ctx context.Context) (err error) {
		started, err = st.client.InitiateMultipartUpload(ctx, initiate)
		return err
	})
	if err != nil {
		return nil, err
	}
	uploadID := started.UploadId
	abort := func(cause error) error {
		// The caller's context may be what failed: abort on a fresh, bounded one.
		abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), st.s.opts.CallTimeout)
		defer cancel()
		// The upload's failure is what the caller needs; a failed abort only leaves parts behind.
		err := st.do(abortCtx, "AbortMultipartUpload", name, func(ctx context.Context) error {
			_, err := st.client.AbortMultipartUpload(ctx, &oss.AbortMultipartUploadRequest{Bucket: request.Bucket, Key: request.Key, UploadId: uploadID})
			return err
		})
		if err != nil && !HasCode(err, "NoSuchUpload") {
			st.s.opts.Log.Warnf("%v (upload %s): its parts stay until a lifecycle rule removes them", err, oss.ToString(uploadID))
		}
		return cause
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pool := make(chan []byte, opts.Parallel+1)
	pool <- first
	for i := 0; i < opts.Parallel; i++ {
		pool <- nil
	}
	var (
		mu    sync.Mutex
		parts []oss.UploadPart
		sent  atomic.Int64
		wg    sync.WaitGroup
	)
	for number := int32(1); ; number++ {
		var buf []byte
		select {
		case buf = <-pool:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if int64(cap(buf)) < opts.PartSize {
			buf = make([]byte, opts.PartSize)
		}
		n, readErr := io.ReadFull(r, buf[:opts.PartSize])
		if n == 0 && readErr != nil {
			if !errors.Is(readErr, io.EOF) {
				cancel(fmt.Errorf("reading %s: %w", name, readErr))
			}
			break
		}
		wg.Add(1)
		go func(number int32, data []byte) {
			defer wg.Done()
			defer func() { pool <- data[:0] }()
			err := panics.Catch(func() error {
				etag, err := st.uploadPart(ctx, name, request, uploadID, number, data)
				if err != nil {
					return err
				}
				mu.Lock()
				parts = append(parts, oss.UploadPart{PartNumber: number, ETag: oss.Ptr(etag)})
				mu.Unlock()
				opts.Progress(sent.Add(int64(len(data))), -1)
				return nil
			})
			if err != nil {
				cancel(err)
			}
		}(number, buf[:n])
		if readErr != nil {
			if !errors.Is(readErr, io.ErrUnexpectedEOF) && !errors.Is(readErr, io.EOF) {
				cancel(fmt.Errorf("reading %s: %w", name, readErr))
			}
			break
		}
	}
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return nil, abort(cause)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	complete := &oss.CompleteMultipartUploadRequest{Bucket: request.Bucket, Key: request.Key, UploadId: uploadID,
		ForbidOverwrite: request.ForbidOverwrite, Acl: request.Acl, CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: parts}}
	result, err := st.complete(ctx, name, complete, sums)
	if err != nil {
		return nil, abort(err)
	}
	return result, nil
}

// complete completes an upload. A completion that succeeded but whose answer was lost makes the
// next try fail NoSuchUpload (the upload is gone: it became the object); when the object then
// has exactly the size and CRC-64 of the bytes sent, that try's predecessor did the work and
// the upload succeeded.
func (st *Store) complete(ctx context.Context, name string, request *oss.CompleteMultipartUploadRequest, sums *digests) (*oss.CompleteMultipartUploadResult, error) {
	var (
		result *oss.CompleteMultipartUploadResult
		tries  int
	)
	// Completing assembles the parts server-side, which takes longer than a small call.
	err := st.s.callWithin(ctx, st.s.opts.StallTimeout, "oss", "CompleteMultipartUpload", func(ctx context.Context) (err error) {
		tries++
		result, err = st.client.CompleteMultipartUpload(ctx, request)
		return err
	})
	if err == nil {
		return result, nil
	}
	if tries > 1 && HasCode(err, "NoSuchUpload") {
		info, headErr := st.Head(ctx, name)
		if headErr == nil && info.Size == sums.n && info.CRC64 == sums.crc() {
			st.s.opts.Log.Warnf("complete oss://%s/%s: an earlier try completed the upload (its answer was lost); the object has the size and CRC-64 sent", st.bucket, st.Key(name))
			return &oss.CompleteMultipartUploadResult{ETag: oss.Ptr(info.ETag), HashCRC64: oss.Ptr(info.CRC64)}, nil
		}
	}
	return nil, st.fail("CompleteMultipartUpload", name, err)
}

// uploadPart sends one part with the session's retry policy and a fresh body per attempt; the
// SDK checks the part's CRC-64 against the server's, and a mismatch is retried.
func (st *Store) uploadPart(ctx context.Context, name string, request *oss.PutObjectRequest, uploadID *string, number int32, data []byte) (string, error) {
	var etag string
	err := st.sendBody(ctx, "UploadPart", true, data, func(ctx context.Context, body io.Reader, length int64) error {
		result, err := st.client.UploadPart(ctx, &oss.UploadPartRequest{Bucket: request.Bucket, Key: request.Key,
			UploadId: uploadID, PartNumber: number, Body: body, ContentLength: oss.Ptr(length)})
		if err != nil {
			return err
		}
		etag = oss.ToString(result.ETag)
		return nil
	})
	if err != nil {
		return "", st.fail("UploadPart", name, fmt.Errorf("part %d: %w", number, err))
	}
	return etag, nil
}
