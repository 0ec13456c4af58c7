package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/concertsys/platform/envelope"
)

// Source is the EventBridge source of the events this projection consumes.
const Source = "concerts"

// Event type names the projection applies. They equal the schema file names in
// schemas/concerts/<Name>.v1.json; the concerts service's Go package is deliberately
// not imported (consumers depend on schemas, not on producer code).
const (
	ConcertScheduled   = "ConcertScheduled"
	ConcertUpdated     = "ConcertUpdated"
	ConcertRescheduled = "ConcertRescheduled"
	TicketsSold        = "TicketsSold"
	ConcertSoldOut     = "ConcertSoldOut"
	ConcertCancelled   = "ConcertCancelled"
)

// EventTypes lists every event type the projection subscribes to and applies.
func EventTypes() []string {
	return []string{ConcertScheduled, ConcertUpdated, ConcertRescheduled, TicketsSold, ConcertSoldOut, ConcertCancelled}
}

// SupportedSchemaVersion is the schema version of every event type this code decodes.
const SupportedSchemaVersion = 1

var (
	// ErrInvalidEvent: the event cannot be decoded or does not fit the view (poison).
	ErrInvalidEvent = errors.New("invalid concert event")
	// ErrDuplicate: the event is at or below the view's version (already applied).
	ErrDuplicate = errors.New("event already applied")
)

// GapError says an event is ahead of the next version the view expects.
type GapError struct {
	ConcertID string
	Have      int64 // the view's version
	Got       int64 // the event's version
}

func (e *GapError) Error() string {
	return fmt.Sprintf("concert %s: event version %d is ahead of view version %d", e.ConcertID, e.Got, e.Have)
}

// Event is one concert event as the projection sees it on the bus.
type Event struct {
	Meta envelope.Metadata
	Data json.RawMessage
}

// ParseDetail decodes an EventBridge detail of a concert event and checks that its
// metadata is usable: the detail-type must match metadata.eventType.
func ParseDetail(eventType string, detail []byte) (Event, error) {
	var d envelope.Detail
	if err := json.Unmarshal(detail, &d); err != nil {
		return Event{}, fmt.Errorf("%s detail: %v: %w", eventType, err, ErrInvalidEvent)
	}
	e := Event{Meta: d.Metadata, Data: d.Data}
	if e.Meta.EventType != eventType {
		return Event{}, fmt.Errorf("detail-type %q but metadata.eventType %q: %w", eventType, e.Meta.EventType, ErrInvalidEvent)
	}
	if err := e.validateMeta(); err != nil {
		return Event{}, err
	}
	return e, nil
}

func (e Event) validateMeta() error {
	m := e.Meta
	switch {
	case m.AggregateID == "":
		return fmt.Errorf("%s: empty metadata.aggregateId: %w", m.EventType, ErrInvalidEvent)
	case m.AggregateVersion < 1:
		return fmt.Errorf("%s %s: metadata.aggregateVersion %d, want >= 1: %w", m.EventType, m.AggregateID, m.AggregateVersion, ErrInvalidEvent)
	case m.EventType == "":
		return fmt.Errorf("%s: empty metadata.eventType: %w", m.AggregateID, ErrInvalidEvent)
	case m.OccurredAt.IsZero():
		return fmt.Errorf("%s %s v%d: missing metadata.occurredAt: %w", m.EventType, m.AggregateID, m.AggregateVersion, ErrInvalidEvent)
	}
	return nil
}

// Timestamp normalises an event time the same way for bus and log events: UTC,
// millisecond precision (what the producer stores), so live and rebuilt views are
// byte-identical.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// The projection's own decoding types (schema version 1). Pointer fields make a
// missing required field detectable, so a schema change that renames or drops one
// fails decoding loudly instead of zeroing the view.
type (
	scheduledV1 struct {
		Artist     *string    `json:"artist"`
		Venue      *string    `json:"venue"`
		StartsAt   *time.Time `json:"startsAt"`
		Capacity   *int       `json:"capacity"`
		PriceCents *int64     `json:"priceCents"`
	}
	updatedV1 struct {
		Artist     *string `json:"artist"`
		Venue      *string `json:"venue"`
		PriceCents *int64  `json:"priceCents"`
	}
	rescheduledV1 struct {
		StartsAt *time.Time `json:"startsAt"`
	}
	ticketsSoldV1 struct {
		Quantity         *int `json:"quantity"`
		TicketsSold      *int `json:"ticketsSold"`
		TicketsAvailable *int `json:"ticketsAvailable"`
	}
	soldOutV1 struct {
		Capacity *int `json:"capacity"`
	}
	cancelledV1 struct {
		Reason *string `json:"reason"`
	}
	// carriedV1 is the optional event-carried state of every event type: the concert
	// right after the event.
	carriedV1 struct {
		State *stateV1 `json:"state"`
	}
	stateV1 struct {
		Artist      *string    `json:"artist"`
		Venue       *string    `json:"venue"`
		StartsAt    *time.Time `json:"startsAt"`
		Capacity    *int       `json:"capacity"`
		PriceCents  *int64     `json:"priceCents"`
		TicketsSold *int       `json:"ticketsSold"`
		Cancelled   *bool      `json:"cancelled"`
	}
)

// decode unmarshals data into dst. It tolerates unknown fields: producers may add
// optional fields within a schema version.
func decode(e Event, dst any) error {
	if len(bytes.TrimSpace(e.Data)) == 0 {
		return fmt.Errorf("%s %s v%d: no data: %w", e.Meta.EventType, e.Meta.AggregateID, e.Meta.AggregateVersion, ErrInvalidEvent)
	}
	if err := json.Unmarshal(e.Data, dst); err != nil {
		return fmt.Errorf("%s %s v%d: decode data: %v: %w", e.Meta.EventType, e.Meta.AggregateID, e.Meta.AggregateVersion, err, ErrInvalidEvent)
	}
	return nil
}

// field is a required data field and whether the event carried it.
type field struct {
	name    string
	present bool
}

func require(e Event, fields ...field) error {
	for _, f := range fields {
		if !f.present {
			return fmt.Errorf("%s %s v%d: data.%s is missing: %w", e.Meta.EventType, e.Meta.AggregateID, e.Meta.AggregateVersion, f.name, ErrInvalidEvent)
		}
	}
	return nil
}
