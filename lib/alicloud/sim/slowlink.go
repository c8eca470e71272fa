package sim

import (
	"context"
	"io"
	"net/http"
	"time"
)

// pace holds a stream to a byte rate: after n bytes it sleeps until n/rate seconds have passed
// since the first byte. It gives up sleeping when the request or the server ends.
type pace struct {
	rate    int64
	start   time.Time
	moved   int64
	request context.Context
	done    <-chan struct{}
}

func newPace(rate int64, request context.Context, done <-chan struct{}) *pace {
	return &pace{rate: rate, request: request, done: done}
}

// chunk is the most a slow stream moves between two pauses, so the pace is smooth.
func (p *pace) chunk() int { return int(max(1, min(p.rate/10, 32<<10))) }

func (p *pace) account(n int) {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	p.moved += int64(n)
	due := p.start.Add(time.Duration(float64(p.moved) / float64(p.rate) * float64(time.Second)))
	wait := time.Until(due)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.request.Done():
	case <-p.done:
	}
}

// slowBody is a request body read at the fault's bandwidth: the client's writes block as over a
// slow link once the connection's buffers are full.
type slowBody struct {
	io.ReadCloser
	pace *pace
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(p) > b.pace.chunk() {
		p = p[:b.pace.chunk()]
	}
	n, err := b.ReadCloser.Read(p)
	b.pace.account(n)
	return n, err
}

// slowWriter writes a response body at the fault's bandwidth.
type slowWriter struct {
	http.ResponseWriter
	pace *pace
}

func (w *slowWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n, err := w.ResponseWriter.Write(p[:min(len(p), w.pace.chunk())])
		written += n
		if err != nil {
			return written, err
		}
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		w.pace.account(n)
		p = p[n:]
	}
	return written, nil
}

// Unwrap lets http.ResponseController reach the connection.
func (w *slowWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// discardWriter takes an answer that is to be lost.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
