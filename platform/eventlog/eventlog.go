// Package eventlog is the append-only, per-aggregate event log: the write side's
// source of truth. Adapters live in subpackages (dynamolog for DynamoDB, boltlog for
// the embedded durable store devstack uses); eventlogtest holds the conformance suite
// every adapter must pass.
package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxItemBytes is DynamoDB's item size limit. Both adapters enforce it so that an
// event accepted locally is never rejected on AWS.
const MaxItemBytes = 400 * 1024

// Event is one record of the log. In DynamoDB it is one item: AggregateId (S, partition
// key), AggregateVersion (N, sort key), Created (N, epoch seconds with millisecond
// fraction), EventType (S), Data (S, JSON), EventId, SchemaVersion, CorrelationId,
// CausationId, and TraceParent when the write was traced.
type Event struct {
	AggregateID   string
	Version       int64 // 1-based and gap-free per aggregate
	EventID       string
	EventType     string
	SchemaVersion int
	OccurredAt    time.Time // stored as the Created attribute
	CorrelationID string
	CausationID   string
	// TraceParent is the W3C traceparent of the write that appended the event
	// (optional): the Pipe's enrichment continues the trace from it.
	TraceParent string
	Data        json.RawMessage
}

// Log appends and loads the events of aggregates.
type Log interface {
	// Append writes events of ONE aggregate atomically: all or none. Versions must
	// be consecutive; a version that is already taken fails with a *ConflictError
	// (errors.Is(err, ErrConflict)). Callers take the next version from what they
	// loaded: the DynamoDB adapter checks only "key not taken" (one conditional write
	// per event), so it cannot refuse a gap without doubling every write's cost.
	// An event over MaxItemBytes fails with ErrTooLarge before anything is written.
	// A nil error means the events are durable.
	Append(ctx context.Context, events []Event) error
	// Load returns every event of the aggregate in version order, or ErrNotFound.
	Load(ctx context.Context, aggregateID string) ([]Event, error)
	// LoadAfter returns the events with Version > after, in order (possibly none).
	LoadAfter(ctx context.Context, aggregateID string, after int64) ([]Event, error)
	// LoadPage returns at most limit (1..MaxPageLimit) events with Version > after,
	// in order, and whether more follow. It reads about limit+1 events from the
	// store, however long the history: what a page costs follows its size. An
	// unknown aggregate is an empty page, not an error; limit out of range fails with
	// ErrInvalid.
	LoadPage(ctx context.Context, aggregateID string, after int64, limit int) (events []Event, more bool, err error)
}

// MaxPageLimit bounds LoadPage's limit.
const MaxPageLimit = 1000

// CheckPageLimit is LoadPage's argument check, shared by the adapters.
func CheckPageLimit(limit int) error {
	if limit < 1 || limit > MaxPageLimit {
		return fmt.Errorf("load page: limit %d, want 1..%d: %w", limit, MaxPageLimit, ErrInvalid)
	}
	return nil
}

// Scanner walks every event of every aggregate, for rebuilding read models. Order is
// only guaranteed within one aggregate.
type Scanner interface {
	ForEach(ctx context.Context, fn func(Event) error) error
}

// FeedEntry is an event at its position in an ordered change feed.
type FeedEntry struct {
	Position uint64 // strictly increasing in commit order, starting at 1
	Event    Event
}

// Feed is the ordered change feed of an embedded log (what a DynamoDB stream is on AWS).
// A reader keeps the last Position it processed and resumes after it.
type Feed interface {
	// ReadFeed returns up to limit entries with Position > after, in order.
	ReadFeed(ctx context.Context, after uint64, limit int) ([]FeedEntry, error)
	// Changed returns a channel that is closed at the next commit after the call.
	Changed() <-chan struct{}
}

var (
	// ErrNotFound: the aggregate has no events.
	ErrNotFound = errors.New("aggregate not found")
	// ErrConflict: the expected version was already taken.
	ErrConflict = errors.New("version conflict")
	// ErrTooLarge: an event exceeds MaxItemBytes.
	ErrTooLarge = errors.New("event too large")
	// ErrInvalid: the batch is malformed (empty, mixed aggregates, gaps).
	ErrInvalid = errors.New("invalid append")
)

// ConflictError reports which version of which aggregate was already taken.
type ConflictError struct {
	AggregateID string
	Version     int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("aggregate %s: version %d already exists", e.AggregateID, e.Version)
}

// Is makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
