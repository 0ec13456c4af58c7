package stack

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/wsgateway"
)

// Limits bound what clients of devstack can hold, so that no script or page on the
// developer's machine can exhaust its memory, goroutines or file descriptors. Zero
// fields take the defaults below.
type Limits struct {
	// Tails is how many /_aws/events/tail streams may be open at once; one more
	// gets 429. Each holds a buffer of events (300 idle tails took 35 → 247 MB).
	Tails int
	// WebSockets and WebSocketsPerClient bound WebSocket connections in all and per
	// client address; one more upgrade gets 429 (see wsgateway.Options).
	WebSockets          int
	WebSocketsPerClient int
	// DeadLetterRetention is how long a dead letter is kept (SQS's longest retention,
	// 14 days, by default).
	DeadLetterRetention time.Duration
	// Server timeouts of ordinary requests. ReadTimeout covers headers and body, so
	// a client that promises a body and stalls is cut off; tails, WebSockets and
	// jobs lift or extend their deadlines themselves.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// SweepInterval is how often expired rows and dead letters are deleted.
	SweepInterval time.Duration
}

// Defaults of Limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	// DefaultWriteTimeout is above API Gateway's 29-second integration timeout, the
	// longest an API request may take.
	DefaultWriteTimeout  = time.Minute
	DefaultIdleTimeout   = 2 * time.Minute
	DefaultSweepInterval = time.Minute
)

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Tails, bus.DefaultMaxTails)
	def(&l.WebSockets, wsgateway.DefaultMaxConnections)
	def(&l.WebSocketsPerClient, wsgateway.DefaultMaxConnectionsPerClient)
	defd(&l.DeadLetterRetention, bus.DefaultDeadLetterRetention)
	defd(&l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	defd(&l.ReadTimeout, DefaultReadTimeout)
	defd(&l.WriteTimeout, DefaultWriteTimeout)
	defd(&l.IdleTimeout, DefaultIdleTimeout)
	defd(&l.SweepInterval, DefaultSweepInterval)
	return l
}

// startSweeps deletes expired rows every SweepInterval until stopSweeps, as
// DynamoDB's TTL deletes expired items in the background on AWS (reads already skip
// them), and expired dead letters as SQS drops messages past their retention.
func (s *Stack) startSweeps(sweepers map[string]func(context.Context, time.Time) (int, error)) {
	ctx, cancel := context.WithCancel(context.Background())
	s.sweepStop = cancel
	go func() {
		defer close(s.sweepDone)
		tick := time.NewTicker(s.limits.SweepInterval)
		defer tick.Stop()
		for {
			for name, sweep := range sweepers {
				n, err := sweep(ctx, time.Now())
				switch {
				case err != nil && ctx.Err() == nil:
					s.log.Warn("sweep expired rows", "store", name, "err", err)
				case n > 0:
					s.log.Debug("expired rows deleted", "store", name, "count", n)
				}
			}
			if err := s.bus.PurgeExpiredDeadLetters(); err != nil && ctx.Err() == nil {
				s.log.Warn("sweep expired dead letters", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func (s *Stack) stopSweeps() {
	if s.sweepStop != nil {
		s.sweepStop()
		<-s.sweepDone
	}
}

// bodyWatch keeps the request bodies still being read, so Close can cut off those
// that stall (a client that promised 1,000 bytes and sent 1) instead of waiting for
// ReadTimeout: draining waits for requests in flight, and a stalled body would hold
// shutdown for the whole read timeout.
type bodyWatch struct {
	mu     sync.Mutex
	bodies map[*watchedBody]struct{}
}

type watchedBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done atomic.Bool // read to the end or failed: the server may read the connection again
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done.Store(true)
	}
	return n, err
}

// watch wraps r's body until the returned func is called (when the handler returns).
func (bw *bodyWatch) watch(w http.ResponseWriter, r *http.Request) func() {
	if r.Body == nil || r.Body == http.NoBody {
		return func() {}
	}
	b := &watchedBody{ReadCloser: r.Body, rc: http.NewResponseController(w)}
	r.Body = b
	bw.mu.Lock()
	if bw.bodies == nil {
		bw.bodies = map[*watchedBody]struct{}{}
	}
	bw.bodies[b] = struct{}{}
	bw.mu.Unlock()
	return func() {
		bw.mu.Lock()
		delete(bw.bodies, b)
		bw.mu.Unlock()
	}
}

// cutOff ends the reads of every body not yet read to the end: they fail at once
// with a timeout, so their handlers answer and return.
func (bw *bodyWatch) cutOff() {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	for b := range bw.bodies {
		if !b.done.Load() {
			_ = b.rc.SetReadDeadline(time.Now())
		}
	}
}
