package alicloud

import (
	"context"
	"io"
	"sync"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/retry"
)

// guardedBody is the body of one attempt of a write. net/http may still be reading a request's
// body after the response came back (an early 503, a reset); the OSS SDK rewinds and resends
// the same reader on retry, racing with that read. The pack instead gives every attempt its own
// guardedBody and closes it when the attempt ends: from then on it reads nothing, so the buffer
// behind it can be reused safely.
type guardedBody struct {
	mu     sync.Mutex
	data   []byte
	offset int
}

func (g *guardedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.offset >= len(g.data) {
		return 0, io.EOF
	}
	n := copy(p, g.data[g.offset:])
	g.offset += n
	return n, nil
}

// close ends the attempt: no read is in progress when it returns, and none follows.
func (g *guardedBody) close() {
	g.mu.Lock()
	g.data, g.offset = nil, 0
	g.mu.Unlock()
}

// noSDKRetry turns the SDK's retries off for one call whose retries the pack runs itself.
func noSDKRetry(o *oss.Options) { o.Retryer = retry.NopRetryer{} }

// sendBody runs a write whose body is data with the session's retry policy, one fresh body per
// attempt.
func (st *Store) sendBody(ctx context.Context, operation string, data []byte, send func(ctx context.Context, body io.Reader, length int64) error) error {
	return st.s.call(ctx, "oss", operation, func(ctx context.Context) error {
		body := &guardedBody{data: data}
		defer body.close()
		return send(ctx, body, int64(len(data)))
	})
}
