// Package backoff is the one retry delay of the system: exponential growth from a base
// to a ceiling with jitter, so retries of work that failed together spread out instead
// of stampeding (AWS's "Exponential Backoff and Jitter" guidance, the shape the AWS SDK
// and EventBridge's own retries use). The write side's conflict retry, the bus's
// redelivery, the Pipe emulator and the publishers all wait with it.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Jitter says how much of the exponential delay is randomised.
type Jitter int

const (
	// Equal waits uniformly in [d/2, d]: a retry never comes much sooner than d.
	Equal Jitter = iota
	// Full waits uniformly in (0, d]: the best spread for writers that collided.
	Full
)

// Policy shapes the delays. The zero value waits nothing.
type Policy struct {
	Base   time.Duration // delay before the first retry, before jitter
	Max    time.Duration // ceiling of the exponential delay (0: no ceiling beyond Base*2^30)
	Jitter Jitter
	// RandN returns a number in [0, n); nil uses math/rand/v2 (tests inject their own).
	RandN func(n int64) int64
}

// Delay is the wait before the retry that follows attempt n (1-based):
// Base*2^(n-1), capped at Max, then jittered.
func (p Policy) Delay(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && i <= 30 && (p.Max <= 0 || d < p.Max); i++ {
		d *= 2
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	if d <= 0 {
		return 0
	}
	randN := p.RandN
	if randN == nil {
		randN = rand.Int64N
	}
	switch p.Jitter {
	case Full:
		return time.Duration(randN(int64(d))) + 1
	default:
		half := d / 2
		return half + time.Duration(randN(int64(d-half)+1))
	}
}

// Sleep waits d or until ctx is done, whichever comes first, and returns ctx.Err() in
// the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retry calls fn up to attempts times while it fails with an error retryable accepts,
// waiting p.Delay between calls. It returns fn's last error, or ctx's error when the
// context ends during a wait.
func (p Policy) Retry(ctx context.Context, attempts int, retryable func(error) bool, fn func(ctx context.Context) error) error {
	var err error
	for n := 1; ; n++ {
		if err = fn(ctx); err == nil || n >= attempts || !retryable(err) {
			return err
		}
		if serr := Sleep(ctx, p.Delay(n)); serr != nil {
			return serr
		}
	}
}
