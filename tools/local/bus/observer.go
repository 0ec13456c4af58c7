package bus

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
)

// Observer sees every delivery attempt and dead letter of a bus, for tracing and
// inspection (devstack's span store and inspector). Its methods run on the delivery
// worker, so they must be quick and must not call back into the bus.
type Observer interface {
	// StartAttempt is called before attempt (1-based) of ev to rule's target; the
	// context it returns is the target's, and done is called with the outcome.
	StartAttempt(ctx context.Context, rule string, ev events.EventBridgeEvent, attempt int) (context.Context, func(err error))
	// DeadLettered is called once a delivery is in the dead-letter store.
	DeadLettered(rule string, dl DeadLetter)
}

// Observe sets the bus's observer (nil: none). Set it before the first Put.
func (b *Bus) Observe(o Observer) { b.observer = o }

// observeAttempt starts o's view of one attempt; without an observer it is a no-op.
func (b *Bus) observeAttempt(ctx context.Context, rule string, ev events.EventBridgeEvent, attempt int) (context.Context, func(error)) {
	if b.observer == nil {
		return ctx, func(error) {}
	}
	return b.observer.StartAttempt(ctx, rule, ev, attempt)
}

func (b *Bus) observeDeadLetter(rule string, rec deadRecord, ev []byte) {
	if b.observer == nil {
		return
	}
	dl := rec.DeadLetter
	_ = json.Unmarshal(ev, &dl.Event) // stored events always decode; a bad one is shown empty
	b.observer.DeadLettered(rule, dl)
}
