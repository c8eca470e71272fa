package alicloud

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy is the one retry policy of every cloud call: exponential backoff with jitter,
// bounded by attempts and by the caller's context, for retryable failures only.
type RetryPolicy struct {
	Attempts  int           // total tries, including the first; default 6
	BaseDelay time.Duration // delay before the second try; default 200ms
	MaxDelay  time.Duration // cap of one delay; default 15s
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 6
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 15 * time.Second
	}
	return p
}

// Delay returns how long to wait before try number attempt (2 for the first retry): the
// exponential step with "equal jitter", so retries of many workers spread out but never
// collapse to zero.
func (p RetryPolicy) Delay(attempt int) time.Duration {
	step := p.BaseDelay << min(attempt-2, 20)
	if step > p.MaxDelay || step <= 0 {
		step = p.MaxDelay
	}
	return step/2 + rand.N(step/2+1)
}

// call runs one small cloud operation with the policy: each try gets CallTimeout, retryable
// failures are logged with their code and request id and tried again, anything else comes back
// at once as an *Error.
func (s *Session) call(ctx context.Context, service, operation string, try func(ctx context.Context) error) error {
	return s.callWithin(ctx, s.opts.CallTimeout, service, operation, try)
}

// transfer runs an operation that moves bulk data (a part, a range, a large PUT): its tries
// have no fixed time limit, because a slow link is not a broken one; the connection's idle
// deadline (StallTimeout, see ossClient) ends a try that stops moving bytes.
func (s *Session) transfer(ctx context.Context, service, operation string, try func(ctx context.Context) error) error {
	return s.callWithin(ctx, 0, service, operation, try)
}

// callWithin is call with a given limit per try (0: none).
func (s *Session) callWithin(ctx context.Context, limit time.Duration, service, operation string, try func(ctx context.Context) error) error {
	p := s.opts.Retry
	for attempt := 1; ; attempt++ {
		tryCtx, cancel := ctx, context.CancelFunc(func() {})
		if limit > 0 {
			tryCtx, cancel = context.WithTimeout(ctx, limit)
		}
		err := try(tryCtx)
		timedOut := tryCtx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			return nil
		}
		if timedOut {
			// This try ran out of its own time (the call hung), not the caller's: try again.
			err = &Error{Service: service, Operation: operation, Code: "Timeout",
				Message: fmt.Sprintf("no answer within %s", limit), cause: err}
		}
		// An error that already carries a cloud error (a credentials fetch that failed) keeps
		// its own context; anything else becomes an *Error of this call.
		var inner *Error
		wrapped := errors.As(err, &inner) && error(inner) != err
		cloudErr, retryable := classify(service, operation, err)
		if !wrapped {
			cloudErr.Attempts, err = attempt, cloudErr
		}
		if ctx.Err() != nil || !retryable || attempt >= p.Attempts {
			return err
		}
		delay := p.Delay(attempt + 1)
		s.logRetry(cloudErr, attempt, delay)
		select {
		case <-ctx.Done():
			return cloudErr
		case <-time.After(delay):
		}
	}
}

// worstCase is the longest a small call can take against an endpoint that never answers: every
// try running out of CallTimeout, plus the longest pauses between them. Tests hold the
// defaults to the bound users are promised (a check fails within 90 s).
func (o Options) worstCase() time.Duration {
	o = o.withDefaults()
	total := time.Duration(o.Retry.Attempts) * o.CallTimeout
	for attempt := 2; attempt <= o.Retry.Attempts; attempt++ {
		total += min(o.Retry.BaseDelay<<min(attempt-2, 20), o.Retry.MaxDelay)
	}
	return total
}

func (s *Session) logRetry(e *Error, attempt int, delay time.Duration) {
	requestID := e.RequestID
	if requestID == "" {
		requestID = "none"
	}
	s.opts.Log.Warnf("%s %s: %s (request id %s); retrying in %s (attempt %d of %d)",
		e.Service, e.Operation, e.Code, requestID, delay.Round(time.Millisecond), attempt+1, s.opts.Retry.Attempts)
}
