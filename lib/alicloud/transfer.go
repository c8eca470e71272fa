package alicloud

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/bosh-alicloud/concourse-pack/lib/panics"
)

const (
	defaultPartSize = 16 << 20
	defaultParallel = 4
)

// TransferOptions tune uploads and downloads. Memory is bounded by PartSize × (Parallel + 1)
// whatever the object size.
type TransferOptions struct {
	PartSize int64                   // default 16 MiB
	Parallel int                     // parts in flight; default 4
	SHA1     bool                    // also compute SHA-1 (BOSH's stemcell and release digests)
	Progress func(done, total int64) // total is -1 when unknown
}

func (o TransferOptions) withDefaults() TransferOptions {
	if o.PartSize <= 0 {
		o.PartSize = defaultPartSize
	}
	if o.Parallel <= 0 {
		o.Parallel = defaultParallel
	}
	if o.Progress == nil {
		o.Progress = func(int64, int64) {}
	}
	return o
}

// digests computes every digest the pack records in one pass over the bytes.
type digests struct {
	sha256 hash.Hash
	sha1   hash.Hash
	crc64  hash.Hash64
	n      int64
}

func newDigests(withSHA1 bool) *digests {
	d := &digests{sha256: sha256.New(), crc64: oss.NewCRC64(0)}
	if withSHA1 {
		d.sha1 = sha1.New()
	}
	return d
}

func (d *digests) Write(p []byte) (int, error) {
	d.sha256.Write(p)
	d.crc64.Write(p)
	if d.sha1 != nil {
		d.sha1.Write(p)
	}
	d.n += int64(len(p))
	return len(p), nil
}

// parts lists the digests' hashes as separate writers, for writing to them concurrently; bytes
// written this way are not counted in n.
func (d *digests) parts() []io.Writer {
	ws := []io.Writer{d.sha256, d.crc64}
	if d.sha1 != nil {
		ws = append(ws, d.sha1)
	}
	return ws
}

// fanOut writes every buffer to all writers concurrently and waits for them; the first error
// wins. Small buffers are written in turn, where goroutines would cost more than they save.
type fanOut []io.Writer

func (f fanOut) Write(p []byte) (int, error) {
	if len(p) < 256<<10 {
		for _, w := range f {
			if _, err := w.Write(p); err != nil {
				return 0, err
			}
		}
		return len(p), nil
	}
	errs := make([]error, len(f))
	var wg sync.WaitGroup
	for i, w := range f[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i+1] = w.Write(p)
		}()
	}
	_, errs[0] = f[0].Write(p)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (d *digests) fill(info *ObjectInfo) {
	info.SHA256 = hex.EncodeToString(d.sha256.Sum(nil))
	if d.sha1 != nil {
		info.SHA1 = hex.EncodeToString(d.sha1.Sum(nil))
	}
}

func (d *digests) crc() string { return strconv.FormatUint(d.crc64.Sum64(), 10) }

// UploadOptions add the object's settings to a transfer's.
type UploadOptions struct {
	TransferOptions
	PutOptions
	ForbidOverwrite bool // fail with FileAlreadyExists rather than replace an object
}

// Upload streams r into an object: one PUT when it fits in a part, otherwise a multipart upload
// with parts in parallel. The SHA-256 (and SHA-1 when asked) of the bytes are computed on the
// way and the object's CRC-64 is checked against them; a failed multipart upload is aborted.
// Every part is retried on its own, with a fresh body (see guardedBody).
func (st *Store) Upload(ctx context.Context, name string, r io.Reader, opts UploadOptions) (ObjectInfo, error) {
	opts.TransferOptions = opts.withDefaults()
	sums := newDigests(opts.SHA1)
	source := io.TeeReader(r, sums)

	// Read the first part: if that is everything, one retryable PUT from memory does.
	first := make([]byte, opts.PartSize+1)
	n, err := io.ReadFull(source, first)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return ObjectInfo{}, fmt.Errorf("reading %s: %w", name, err)
	}
	small := int64(n) <= opts.PartSize
	request := &oss.PutObjectRequest{Bucket: oss.Ptr(st.bucket), Key: oss.Ptr(st.Key(name))}
	opts.apply(request)
	if opts.ForbidOverwrite {
		request.ForbidOverwrite = oss.Ptr("true")
	}
	var etag, crc string
	if small {
		result, err := st.putObject(ctx, request, first[:n])
		if err != nil {
			return ObjectInfo{}, st.fail("PutObject", name, err)
		}
		opts.Progress(int64(n), int64(n))
		etag, crc = oss.ToString(result.ETag), oss.ToString(result.HashCRC64)
	} else {
		result, err := st.multipart(ctx, name, request, io.MultiReader(bytes.NewReader(first[:n]), source), first[:0], opts, sums)
		if err != nil {
			return ObjectInfo{}, err
		}
		etag, crc = oss.ToString(result.ETag), oss.ToString(result.HashCRC64)
	}
	if crc != "" && crc != sums.crc() {
		return ObjectInfo{}, fmt.Errorf("uploading oss://%s/%s: the stored object's CRC-64 %s differs from the bytes sent (%s)", st.bucket, st.Key(name), crc, sums.crc())
	}
	info := ObjectInfo{Name: name, Size: sums.n, ETag: etag, CRC64: crc}
	sums.fill(&info)
	opts.Progress(sums.n, sums.n)
	return info, nil
}

// Download streams an object into w, fetching ranges in parallel and writing them in order,
// and computes its digests in the same pass. The object must not change while it is read
// (If-Match on its ETag), and its CRC-64 must match the bytes received.
func (st *Store) Download(ctx context.Context, name string, w io.Writer, opts TransferOptions) (ObjectInfo, error) {
	opts = opts.withDefaults()
	info, err := st.Head(ctx, name)
	if err != nil {
		return ObjectInfo{}, err
	}
	sums := newDigests(opts.SHA1)
	// Each part goes to the writer and to every hash at once, so hashing overlaps the writing
	// (and, on a machine with cores to spare, the hashes each other).
	out := fanOut(append([]io.Writer{w}, sums.parts()...))
	if err := st.fetchRanges(ctx, name, info, out, opts); err != nil {
		return ObjectInfo{}, err
	}
	if info.CRC64 != "" && info.CRC64 != sums.crc() {
		return ObjectInfo{}, fmt.Errorf("downloading oss://%s/%s: CRC-64 of the bytes received is %s, the object's is %s", st.bucket, st.Key(name), sums.crc(), info.CRC64)
	}
	sums.fill(&info)
	return info, nil
}

// DownloadFile downloads into path atomically: into a temporary file beside it, renamed into
// place only once complete and verified.
func (st *Store) DownloadFile(ctx context.Context, name, path string, opts TransferOptions) (ObjectInfo, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return ObjectInfo{}, err
	}
	// Not-exist once renamed into place; otherwise the partial download (a leftover is harmless).
	defer func() { _ = os.Remove(tmp.Name()) }()
	info, err := st.Download(ctx, name, tmp, opts)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return ObjectInfo{}, err
	}
	return info, os.Rename(tmp.Name(), path)
}

// rangeChunk is one range of a parallel download.
type rangeChunk struct {
	offset, size int64
	buf          []byte
	err          error
	done         chan struct{}
}

// fetchRanges fetches the object in PartSize ranges, at most Parallel at a time, and writes them
// to out in order. Memory: at most Parallel+1 part buffers.
func (st *Store) fetchRanges(ctx context.Context, name string, info ObjectInfo, out io.Writer, opts TransferOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pool := make(chan []byte, opts.Parallel+1)
	for i := 0; i < opts.Parallel+1; i++ {
		pool <- nil // buffers are allocated on first use, so small objects stay small
	}
	order := make(chan *rangeChunk, opts.Parallel+1)
	var fetches sync.WaitGroup
	produced := make(chan struct{})
	// On every return: stop the producer, then wait for it and for the fetches it started.
	defer func() {
		cancel()
		<-produced
		fetches.Wait()
	}()
	go func() {
		defer close(produced)
		defer close(order)
		for offset := int64(0); offset < info.Size || offset == 0; offset += opts.PartSize {
			var buf []byte
			select {
			case buf = <-pool:
			case <-ctx.Done():
				return
			}
			size := min(opts.PartSize, info.Size-offset)
			if int64(cap(buf)) < size {
				buf = make([]byte, size)
			}
			c := &rangeChunk{offset: offset, size: size, buf: buf[:size], done: make(chan struct{})}
			fetches.Add(1)
			go func() {
				defer fetches.Done()
				defer close(c.done)
				c.err = panics.Catch(func() error { return st.fetchRange(ctx, name, info, c) })
			}()
			select {
			case order <- c:
			case <-ctx.Done():
				return
			}
			if info.Size == 0 {
				return
			}
		}
	}()
	var done int64
	for c := range order {
		<-c.done
		if c.err != nil {
			return c.err
		}
		if _, err := out.Write(c.buf); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		done += c.size
		opts.Progress(done, info.Size)
		pool <- c.buf
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if done != info.Size {
		return fmt.Errorf("downloading oss://%s/%s: got %d of %d bytes", st.bucket, st.Key(name), done, info.Size)
	}
	return nil
}

// fetchRange reads one range fully, trying again (with the session's policy) when the
// connection fails mid-body; a try lasts as long as bytes move (see Session.transfer).
func (st *Store) fetchRange(ctx context.Context, name string, info ObjectInfo, c *rangeChunk) error {
	err := st.s.transfer(ctx, "oss", "GetObject", func(ctx context.Context) error {
		return st.readRange(ctx, name, info, c)
	})
	if err != nil {
		return st.fail("GetObject", name, err)
	}
	return nil
}

func (st *Store) readRange(ctx context.Context, name string, info ObjectInfo, c *rangeChunk) error {
	request := &oss.GetObjectRequest{Bucket: oss.Ptr(st.bucket), Key: oss.Ptr(st.Key(name))}
	if info.ETag != "" {
		request.IfMatch = oss.Ptr(info.ETag)
	}
	if c.size > 0 {
		request.Range = oss.Ptr(fmt.Sprintf("bytes=%d-%d", c.offset, c.offset+c.size-1))
	}
	result, err := st.client.GetObject(ctx, request)
	if err != nil {
		return err
	}
	defer func() { _ = result.Body.Close() }() // read-only: its close has nothing to report
	if result.ContentLength != c.size {
		return fmt.Errorf("range at %d: expected %d bytes, the response has %d", c.offset, c.size, result.ContentLength)
	}
	_, err = io.ReadFull(result.Body, c.buf)
	return err
}
