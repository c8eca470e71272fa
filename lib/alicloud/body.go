package alicloud

import (
	"context"
	"io"
	"sync"
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

// bulkBody is the size from which a write is a transfer, bounded by lack of progress rather
// than by CallTimeout: 1 MiB takes 2 s at 4 Mbit/s.
const bulkBody = 1 << 20

// sendBody runs a write whose body is data with the session's retry policy, one fresh body per
// attempt: a small body within CallTimeout per try, a bulk one (an upload part is always one)
// for as long as it moves.
func (st *Store) sendBody(ctx context.Context, operation string, bulk bool, data []byte, send func(ctx context.Context, body io.Reader, length int64) error) error {
	run := st.s.call
	if bulk || len(data) > bulkBody {
		run = st.s.transfer
	}
	return run(ctx, "oss", operation, func(ctx context.Context) error {
		body := &guardedBody{data: data}
		defer body.close()
		return send(ctx, body, int64(len(data)))
	})
}
