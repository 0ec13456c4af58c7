package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/concertsys/platform/backoff"
	"github.com/concertsys/platform/subscription"
)

// delivery is one event owed to one rule: persisted from Put until the target
// succeeds or it is dead-lettered.
type delivery struct {
	Rule    string
	EventID string
	// Event is the event JSON as targets receive it; the deliveries of one event to
	// several rules share it, so it is never modified.
	Event      []byte
	Attempts   int
	LastError  string
	ReceivedAt time.Time

	ref pendingRef // where the store keeps it (set by addPending and redrive)
	// view is Event decoded, shared like Event and never modified; Put sets it from
	// the envelope it encoded, other deliveries (reloaded, redriven, replayed) decode
	// it at their first attempt.
	view *events.EventBridgeEvent
}

// decoded returns the delivery's event decoded, decoding it once.
func (d *delivery) decoded() (*events.EventBridgeEvent, error) {
	if d.view != nil {
		return d.view, nil
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(d.Event, &ev); err != nil {
		return nil, err
	}
	d.view = &ev
	return d.view, nil
}

// RawTarget is a rule target that takes the event as EventBridge serializes it for
// a target, such as the body of an SQS message (see SubscribeRaw). event is shared
// with other rules' deliveries and must not be modified.
type RawTarget func(ctx context.Context, event []byte) error

// matcher is what the bus needs of a compiled event pattern.
type matcher interface {
	Match(event []byte) (bool, error)
}

// rule is a subscription with its own unbounded FIFO queue and worker pool, so a slow
// or failing target never holds up other rules, and retries rejoin at the back of the
// queue so fresh events are not starved by a failing one.
type rule struct {
	bus     *Bus
	sub     subscription.Subscription
	target  subscription.Target
	raw     RawTarget // instead of target when set
	pattern matcher
	// targetARN is the target's ARN (a Lambda function; in devstack the rule's queue), for ListTargetsByRule.
	targetARN string

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*delivery
	timers  map[*time.Timer]struct{}
	stopped bool
}

func newRule(b *Bus, sub subscription.Subscription, target subscription.Target, raw RawTarget, p matcher) *rule {
	r := &rule{bus: b, sub: sub, target: target, raw: raw, pattern: p, timers: make(map[*time.Timer]struct{})}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *rule) push(d *delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.queue = append(r.queue, d)
	r.cond.Signal()
}

// pop blocks for the next delivery; false once the rule is stopped.
func (r *rule) pop() (*delivery, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.queue) == 0 && !r.stopped {
		r.cond.Wait()
	}
	if r.stopped {
		return nil, false
	}
	d := r.queue[0]
	r.queue[0] = nil
	r.queue = r.queue[1:]
	return d, true
}

// retryAfter puts d back in the queue after delay.
func (r *rule) retryAfter(d *delivery, delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return // still pending in the store; the next process resumes it
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		r.mu.Lock()
		delete(r.timers, t)
		r.mu.Unlock()
		r.push(d)
	})
	r.timers[t] = struct{}{}
}

func (r *rule) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	for t := range r.timers {
		t.Stop()
	}
	r.timers = nil
	r.queue = nil
	r.cond.Broadcast()
}

func (r *rule) work() {
	defer r.bus.wg.Done()
	for {
		d, ok := r.pop()
		if !ok {
			return
		}
		r.bus.attempt(r, d)
	}
}

// attempt invokes the target once and records the outcome: done, retry later, or
// dead letter.
func (b *Bus) attempt(r *rule, d *delivery) {
	if b.now().Sub(d.ReceivedAt) > r.sub.MaxEventAge {
		b.toDeadLetter(r, d, ReasonMaxEventAge)
		return
	}
	ev, err := d.decoded()
	if err != nil {
		// Only a corrupted store gets here; retrying cannot help.
		d.LastError = fmt.Sprintf("decode stored event: %v", err)
		b.toDeadLetter(r, d, ReasonUndecodable)
		return
	}
	err = b.invoke(r, d, ev, d.Attempts+1)
	d.Attempts++
	if err == nil {
		b.delivered.Add(1)
		if err := b.store.removePending(d); err != nil {
			// The event stays pending and is delivered again after a restart:
			// a duplicate, which at-least-once allows.
			b.log.Warn("record delivery", "rule", r.sub.Name, "event", d.EventID, "error", err)
		}
		return
	}
	b.failed.Add(1)
	d.LastError = err.Error()
	delay := b.opts.retryDelay(d.Attempts, nil)
	switch {
	case d.Attempts >= r.sub.MaxAttempts:
		b.toDeadLetter(r, d, ReasonMaxAttempts)
		return
	case b.now().Add(delay).Sub(d.ReceivedAt) > r.sub.MaxEventAge:
		b.toDeadLetter(r, d, ReasonMaxEventAge)
		return
	}
	b.log.Debug("delivery failed; retrying", "rule", r.sub.Name, "event", d.EventID, "attempt", d.Attempts, "delay", delay, "error", err)
	if err := b.store.updatePending(d); err != nil {
		b.log.Warn("record failed attempt", "rule", r.sub.Name, "event", d.EventID, "error", err)
	}
	r.retryAfter(d, delay)
}

// invoke calls the target like Lambda would: with a deadline, and with a panic turned
// into a failed invocation instead of a crashed process.
func (b *Bus) invoke(r *rule, d *delivery, ev *events.EventBridgeEvent, attempt int) (err error) {
	ctx, cancel := context.WithTimeout(b.base, b.opts.DeliveryTimeout)
	defer cancel()
	ctx, done := b.observeAttempt(ctx, r.sub.Name, *ev, attempt)
	defer func() { done(err) }()
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("target panicked", "rule", r.sub.Name, "event", ev.ID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("target panicked: %v", p)
		}
	}()
	if r.raw != nil {
		err = r.raw(ctx, d.Event)
	} else {
		// The view is shared by every rule and attempt: the target gets its own
		// slices, as it would get its own decoded copy on Lambda.
		own := *ev
		own.Detail = slices.Clone(ev.Detail)
		own.Resources = slices.Clone(ev.Resources)
		err = r.target(ctx, own)
	}
	if err != nil {
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("target returned after its %s timeout", b.opts.DeliveryTimeout)
	}
	return nil
}

// retryDelay is the delay before the retry following attempt n (1-based): base*2^(n-1)
// capped at max, with equal jitter (uniform in [d/2, d]) so retries of many events that
// failed together spread out instead of stampeding. randN(k) returns [0, k); nil uses
// math/rand/v2.
func (o Options) retryDelay(n int, randN func(int64) int64) time.Duration {
	return backoff.Policy{Base: o.RetryBaseDelay, Max: o.RetryMaxDelay, Jitter: backoff.Equal, RandN: randN}.Delay(n)
}
