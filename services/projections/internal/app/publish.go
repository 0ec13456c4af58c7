package app

import (
	"context"
	"crypto/sha1"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/tracing"
	"github.com/concertsys/services/projections/viewevents"
)

// ConcertViewUpdated is the detail of a ConcertViewUpdated event.
type ConcertViewUpdated = envelope.Typed[viewevents.ConcertViewV1]

// Publisher puts ConcertViewUpdated events on the bus. A nil error means every event
// was accepted.
type Publisher interface {
	PublishConcertViewUpdated(ctx context.Context, events []ConcertViewUpdated) error
}

// ViewPublisher announces committed view changes, outbox style: the stored record's
// PublishedVersion says what is still owed, so a crash between commit and publish is
// repaired by the next delivery of any event of that concert.
type ViewPublisher struct {
	views     ViewStore
	publisher Publisher
}

// NewViewPublisher wires publishing. publisher may be nil only where nothing
// publishes (query functions); PublishOwed then fails. Concurrent publishes share
// PutEvents calls (see coalescing).
func NewViewPublisher(views ViewStore, publisher Publisher) *ViewPublisher {
	if publisher != nil {
		publisher = &coalescing{next: publisher}
	}
	return &ViewPublisher{views: views, publisher: publisher}
}

// MaxPutEventsEntries is the most entries one PutEvents call takes (EventBridge's
// limit).
const MaxPutEventsEntries = 10

// coalescing is a Publisher that merges concurrent publishes (the concerts of one SQS
// batch, published by their lanes at once) into one PutEvents of up to
// MaxPutEventsEntries entries, group-commit style: the first caller sends at once;
// whoever calls while that is in flight is sent together in the next call. A merged
// call that fails is retried per caller, so each caller's outcome is its own (an
// entry the failed call did put is put again: the same event id, a duplicate its
// consumers ignore).
type coalescing struct {
	next Publisher

	mu    sync.Mutex
	busy  bool
	queue []*publishCall
}

type publishCall struct {
	ctx    context.Context
	events []ConcertViewUpdated
	done   chan publishTurn
}

// publishTurn tells a queued call its outcome, or that it sends next.
type publishTurn struct {
	err  error
	lead bool
}

func (c *coalescing) PublishConcertViewUpdated(ctx context.Context, events []ConcertViewUpdated) error {
	me := &publishCall{ctx: ctx, events: events, done: make(chan publishTurn, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, me)
	busy := c.busy
	c.busy = true
	c.mu.Unlock()
	if busy {
		if turn := <-me.done; !turn.lead {
			return turn.err
		}
	}
	// Send one call's worth from the head of the queue (this call is in it: it is at
	// the head when it leads), then hand over to the next queued call, so no caller
	// sends for others forever.
	c.mu.Lock()
	n, entries := 0, 0
	for n < len(c.queue) && (n == 0 || entries+len(c.queue[n].events) <= MaxPutEventsEntries) {
		entries += len(c.queue[n].events)
		n++
	}
	calls := slices.Clone(c.queue[:n])
	c.queue = slices.Delete(c.queue, 0, n)
	c.mu.Unlock()
	c.send(calls)
	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].done <- publishTurn{lead: true}
	} else {
		c.busy = false
	}
	c.mu.Unlock()
	return (<-me.done).err
}

// send puts the calls' events in one call, or each call's alone when that fails.
func (c *coalescing) send(calls []*publishCall) {
	if len(calls) == 1 {
		calls[0].done <- publishTurn{err: c.next.PublishConcertViewUpdated(calls[0].ctx, calls[0].events)}
		return
	}
	var all []ConcertViewUpdated
	for _, call := range calls {
		all = append(all, call.events...)
	}
	if err := c.next.PublishConcertViewUpdated(calls[0].ctx, all); err == nil {
		for _, call := range calls {
			call.done <- publishTurn{}
		}
		return
	}
	for _, call := range calls {
		call.done <- publishTurn{err: c.next.PublishConcertViewUpdated(call.ctx, call.events)}
	}
}

// PublishOwed publishes rec's view if its version was not published yet, then
// records that it was.
func (p *ViewPublisher) PublishOwed(ctx context.Context, rec Record) error {
	if rec.PublishedVersion >= rec.View.Version {
		return nil
	}
	if p.publisher == nil {
		return fmt.Errorf("publish %s v%d: no publisher configured", rec.View.ID, rec.View.Version)
	}
	if err := p.publish(ctx, rec); err != nil {
		return fmt.Errorf("publish %s v%d: %w", rec.View.ID, rec.View.Version, err)
	}
	if err := p.views.MarkPublished(ctx, rec.View.ID, rec.View.Version); err != nil {
		return fmt.Errorf("mark %s v%d published: %w", rec.View.ID, rec.View.Version, err)
	}
	return nil
}

// SpanPublish names the span of the PutEvents of a ConcertViewUpdated.
const SpanPublish = "projections/PutEvents ConcertViewUpdated"

// publish puts rec's ConcertViewUpdated in its own span, whose traceparent the event
// carries: the fan-out continues the trace of the delivery that changed the view. The
// traceparent is the one field a republish may change (it names the delivery that
// published); the event id, which duplicates are recognised by, stays the same.
func (p *ViewPublisher) publish(ctx context.Context, rec Record) error {
	ev := NewConcertViewUpdated(rec)
	ctx, span := tracing.Start(ctx, SpanPublish, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		tracing.AttrEventID.String(ev.Metadata.EventID), tracing.AttrAggregateID.String(ev.Metadata.AggregateID),
		tracing.AttrVersion.String(strconv.FormatInt(ev.Metadata.AggregateVersion, 10)), tracing.AttrEventType.String(ev.Metadata.EventType)))
	defer span.End()
	ev.Metadata.Traceparent = tracing.Traceparent(ctx)
	err := p.publisher.PublishConcertViewUpdated(ctx, []ConcertViewUpdated{ev})
	tracing.Fail(span, err)
	return err
}

// NewConcertViewUpdated is the ConcertViewUpdated detail for a stored view. Everything in
// it derives from the record, so a republish is identical to the first publish.
func NewConcertViewUpdated(rec Record) ConcertViewUpdated {
	return ConcertViewUpdated{
		Metadata: envelope.Metadata{
			EventID:          EventID(rec.View.ID, rec.View.Version),
			AggregateID:      rec.View.ID,
			AggregateVersion: rec.View.Version,
			EventType:        viewevents.ConcertViewUpdated,
			SchemaVersion:    1,
			OccurredAt:       rec.View.UpdatedAt,
			CorrelationID:    rec.LastCorrelationID,
			CausationID:      rec.LastEventID,
		},
		Data: rec.View,
	}
}

// eventIDNamespace is the UUID namespace of ConcertViewUpdated event ids.
var eventIDNamespace = [16]byte{0x6b, 0x1f, 0x0e, 0x52, 0x8d, 0x3a, 0x4c, 0x61, 0x9b, 0x27, 0x5e, 0x40, 0x11, 0xa8, 0xd3, 0x7c}

// EventID is the deterministic id (a name-based UUIDv5) of the ConcertViewUpdated
// for one concert at one view version, so a duplicate publish is recognisable.
func EventID(concertID string, version int64) string {
	h := sha1.New()
	h.Write(eventIDNamespace[:])
	h.Write([]byte(concertID + "/" + strconv.FormatInt(version, 10)))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
