package bus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// tail is one live watcher of the bus.
type tail struct {
	ch      chan events.EventBridgeEvent
	pattern matcher // nil: every event
}

// Tail returns a channel with every event accepted from now on that matches pattern
// (nil or empty: every event). The channel is buffered; when the reader falls behind,
// events are dropped for it (counted in Stats().TailDropped) rather than slowing the
// bus. It is closed when ctx is done or the bus closes. At most Options.MaxTails
// tails are open at once; beyond that Tail fails with ErrTooManyTails.
// An event's Detail and Resources are shared with its deliveries: do not modify them.
func (b *Bus) Tail(ctx context.Context, pattern []byte) (<-chan events.EventBridgeEvent, error) {
	t := &tail{ch: make(chan events.EventBridgeEvent, b.opts.TailBuffer)}
	if len(pattern) > 0 {
		p, err := compilePattern(pattern)
		if err != nil {
			return nil, fmt.Errorf("tail pattern: %w", err)
		}
		t.pattern = p
	}
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	b.tailMu.Lock()
	if b.tails == nil { // closeTails ran
		b.tailMu.Unlock()
		return nil, ErrClosed
	}
	if len(b.tails) >= b.opts.MaxTails {
		b.tailMu.Unlock()
		return nil, fmt.Errorf("%w: at most %d at once (devstack -max-tails); close one first", ErrTooManyTails, b.opts.MaxTails)
	}
	b.tails[t] = struct{}{}
	b.tailMu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-b.base.Done():
		}
		b.tailMu.Lock()
		if _, ok := b.tails[t]; ok {
			delete(b.tails, t)
			close(t.ch)
		}
		b.tailMu.Unlock()
	}()
	return t.ch, nil
}

func (b *Bus) publishTail(raw []byte, ev events.EventBridgeEvent) {
	b.tailMu.RLock()
	defer b.tailMu.RUnlock()
	for t := range b.tails {
		if t.pattern != nil {
			if ok, err := t.pattern.Match(raw); err != nil || !ok {
				continue
			}
		}
		select {
		case t.ch <- ev:
		default:
			b.tailDropped.Add(1)
		}
	}
}

func (b *Bus) closeTails() {
	b.tailMu.Lock()
	defer b.tailMu.Unlock()
	for t := range b.tails {
		close(t.ch)
	}
	b.tails = nil
}

// MarshalEvent renders an event exactly as targets and tails see it.
func MarshalEvent(ev events.EventBridgeEvent) ([]byte, error) { return json.Marshal(ev) }
