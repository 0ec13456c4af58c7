// Package domain holds the Concert aggregate: its state is rebuilt from its events,
// and every command method checks the rules before recording new events, so no
// handler can bypass them.
package domain

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/concertsys/services/concerts/concertevents"
)

// Limits of the concert's values, shared with the published schemas.
const (
	MaxTextLen    = 200
	MaxReasonLen  = 500
	MinCapacity   = 1
	MaxCapacity   = 1_000_000
	MaxPriceCents = 100_000_000
	MinQuantity   = 1
	MaxQuantity   = 100
	SchemaVersion = 1 // schema version of every event this package records
)

// latestStart keeps startsAt inside what RFC 3339 (and JSON encoding of time.Time) can
// represent, so an accepted value always encodes.
var latestStart = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Event is one event the aggregate recorded, not yet stored. Data is one of the
// concertevents *V1 types.
type Event struct {
	Version   int64
	EventType string
	Data      any
}

// Recorded is a stored event as the aggregate needs it to rebuild its state.
type Recorded struct {
	Version   int64
	EventType string
	Data      json.RawMessage
}

// State is a read-only copy of the aggregate's state.
type State struct {
	ID          string
	Version     int64
	Artist      string
	Venue       string
	StartsAt    time.Time
	Capacity    int
	PriceCents  int64
	TicketsSold int
	Cancelled   bool
}

// Concert is the aggregate. The zero value is not usable: use Schedule or Rehydrate.
type Concert struct {
	id         string
	version    int64 // including pending events
	committed  int64 // version of the last stored event
	artist     string
	venue      string
	startsAt   time.Time
	capacity   int
	priceCents int64
	sold       int
	cancelled  bool
	pending    []Event
}

// Schedule creates a concert. It records ConcertScheduled as version 1.
func Schedule(id, artist, venue string, startsAt time.Time, capacity int, priceCents int64, now time.Time) (*Concert, error) {
	artist, err := text("artist", artist, MaxTextLen)
	if err != nil {
		return nil, err
	}
	venue, err = text("venue", venue, MaxTextLen)
	if err != nil {
		return nil, err
	}
	if err := futureStart(startsAt, now); err != nil {
		return nil, err
	}
	if capacity < MinCapacity || capacity > MaxCapacity {
		return nil, invalid("capacity", "must be between %d and %d, got %d", MinCapacity, MaxCapacity, capacity)
	}
	if err := price(priceCents); err != nil {
		return nil, err
	}
	c := &Concert{id: id}
	c.record(concertevents.ConcertScheduled, concertevents.ConcertScheduledV1{
		Artist: artist, Venue: venue, StartsAt: startsAt.UTC(), Capacity: capacity, PriceCents: priceCents,
	})
	return c, nil
}

// Rehydrate rebuilds a concert from its stored history (versions 1..n in order).
func Rehydrate(id string, history []Recorded) (*Concert, error) {
	if len(history) == 0 {
		return nil, fmt.Errorf("concert %s: empty history", id)
	}
	c := &Concert{id: id}
	if err := c.ApplyStored(history); err != nil {
		return nil, err
	}
	return c, nil
}

// ApplyStored folds events stored after the concert's current version into it, so a
// cached concert catches up without replaying its whole history.
func (c *Concert) ApplyStored(history []Recorded) error {
	if len(c.pending) > 0 {
		return fmt.Errorf("concert %s: cannot apply stored events over %d pending ones", c.id, len(c.pending))
	}
	for _, r := range history {
		if want := c.version + 1; r.Version != want {
			return fmt.Errorf("concert %s: event version %d, want %d", c.id, r.Version, want)
		}
		data, err := decode(r.EventType, r.Data)
		if err != nil {
			return fmt.Errorf("concert %s version %d: %w", c.id, r.Version, err)
		}
		if r.Version == 1 && r.EventType != concertevents.ConcertScheduled {
			return fmt.Errorf("concert %s: history starts with %s, want %s", c.id, r.EventType, concertevents.ConcertScheduled)
		}
		c.apply(data)
		c.version = r.Version
	}
	c.committed = c.version
	return nil
}

// Update changes any of artist, venue and price. Only changed fields are recorded; a
// request that changes nothing records nothing.
func (c *Concert) Update(artist, venue *string, priceCents *int64) error {
	if artist == nil && venue == nil && priceCents == nil {
		return invalid("body", "must set at least one of artist, venue, priceCents")
	}
	var change concertevents.ConcertUpdatedV1
	if artist != nil {
		a, err := text("artist", *artist, MaxTextLen)
		if err != nil {
			return err
		}
		if a != c.artist {
			change.Artist = &a
		}
	}
	if venue != nil {
		v, err := text("venue", *venue, MaxTextLen)
		if err != nil {
			return err
		}
		if v != c.venue {
			change.Venue = &v
		}
	}
	if priceCents != nil {
		if err := price(*priceCents); err != nil {
			return err
		}
		if p := *priceCents; p != c.priceCents {
			change.PriceCents = &p
		}
	}
	if c.cancelled {
		return ErrCancelled
	}
	if change.Artist == nil && change.Venue == nil && change.PriceCents == nil {
		return nil
	}
	c.record(concertevents.ConcertUpdated, change)
	return nil
}

// Reschedule moves a concert that has not started yet to a future start.
func (c *Concert) Reschedule(startsAt, now time.Time) error {
	if err := futureStart(startsAt, now); err != nil {
		return err
	}
	if err := c.open(now); err != nil {
		return err
	}
	if startsAt.Equal(c.startsAt) {
		return nil
	}
	c.record(concertevents.ConcertRescheduled, concertevents.ConcertRescheduledV1{
		StartsAt: startsAt.UTC(), PreviousStartsAt: c.startsAt,
	})
	return nil
}

// SellTickets sells quantity tickets, never more than are left. The sale that reaches
// capacity also records ConcertSoldOut, so both are stored in one atomic append.
func (c *Concert) SellTickets(quantity int, now time.Time) error {
	if quantity < MinQuantity || quantity > MaxQuantity {
		return invalid("quantity", "must be between %d and %d, got %d", MinQuantity, MaxQuantity, quantity)
	}
	if err := c.open(now); err != nil {
		return err
	}
	left := c.capacity - c.sold
	if left == 0 {
		return ErrSoldOut
	}
	if quantity > left {
		return fmt.Errorf("%w: %d requested, %d left", ErrNotEnoughTickets, quantity, left)
	}
	c.record(concertevents.TicketsSold, concertevents.TicketsSoldV1{
		Quantity: quantity, TicketsSold: c.sold + quantity, TicketsAvailable: left - quantity,
	})
	if c.sold == c.capacity {
		c.record(concertevents.ConcertSoldOut, concertevents.ConcertSoldOutV1{Capacity: c.capacity})
	}
	return nil
}

// Cancel ends the concert for good; afterwards it only answers reads.
func (c *Concert) Cancel(reason string) error {
	reason, err := text("reason", reason, MaxReasonLen)
	if err != nil {
		return err
	}
	if c.cancelled {
		return ErrCancelled
	}
	c.record(concertevents.ConcertCancelled, concertevents.ConcertCancelledV1{Reason: reason})
	return nil
}

// ID is the concert's id.
func (c *Concert) ID() string { return c.id }

// Version is the version the concert has once its pending events are stored.
func (c *Concert) Version() int64 { return c.version }

// CommittedVersion is the version of the last stored event.
func (c *Concert) CommittedVersion() int64 { return c.committed }

// Pending returns the recorded events not yet stored, in order.
func (c *Concert) Pending() []Event { return append([]Event(nil), c.pending...) }

// MarkCommitted records that the pending events are stored.
func (c *Concert) MarkCommitted() {
	c.pending = nil
	c.committed = c.version
}

// Clone returns an independent copy (a cache hands out clones so commands never share
// state).
func (c *Concert) Clone() *Concert {
	cp := *c
	cp.pending = append([]Event(nil), c.pending...)
	return &cp
}

// State returns a copy of the current state, pending events included.
func (c *Concert) State() State {
	return State{
		ID: c.id, Version: c.version, Artist: c.artist, Venue: c.venue, StartsAt: c.startsAt,
		Capacity: c.capacity, PriceCents: c.priceCents, TicketsSold: c.sold, Cancelled: c.cancelled,
	}
}

// open checks the concert still takes changes of its schedule and sales.
func (c *Concert) open(now time.Time) error {
	if c.cancelled {
		return ErrCancelled
	}
	if !now.Before(c.startsAt) {
		return fmt.Errorf("%w (it started at %s)", ErrStarted, c.startsAt.Format(time.RFC3339))
	}
	return nil
}

// record applies a new event and stores it with the state it leaves the concert in
// (event-carried state: consumers apply it in any order, without this service's log).
func (c *Concert) record(eventType string, data any) {
	c.version++
	c.apply(data)
	c.pending = append(c.pending, Event{Version: c.version, EventType: eventType, Data: withState(data, c.stateV1())})
}

// stateV1 is the published form of the concert's state.
func (c *Concert) stateV1() *concertevents.ConcertStateV1 {
	return &concertevents.ConcertStateV1{
		Artist: c.artist, Venue: c.venue, StartsAt: c.startsAt, Capacity: c.capacity,
		PriceCents: c.priceCents, TicketsSold: c.sold, Cancelled: c.cancelled,
	}
}

// withState returns a copy of data (one of the concertevents *V1 types, each with a
// State field) with its State set to s.
func withState(data any, s *concertevents.ConcertStateV1) any {
	v := reflect.New(reflect.TypeOf(data)).Elem()
	v.Set(reflect.ValueOf(data))
	v.FieldByName("State").Set(reflect.ValueOf(s))
	return v.Interface()
}

func (c *Concert) apply(data any) {
	switch d := data.(type) {
	case concertevents.ConcertScheduledV1:
		c.artist, c.venue, c.startsAt = d.Artist, d.Venue, d.StartsAt.UTC()
		c.capacity, c.priceCents = d.Capacity, d.PriceCents
	case concertevents.ConcertUpdatedV1:
		if d.Artist != nil {
			c.artist = *d.Artist
		}
		if d.Venue != nil {
			c.venue = *d.Venue
		}
		if d.PriceCents != nil {
			c.priceCents = *d.PriceCents
		}
	case concertevents.ConcertRescheduledV1:
		c.startsAt = d.StartsAt.UTC()
	case concertevents.TicketsSoldV1:
		c.sold = d.TicketsSold
	case concertevents.ConcertSoldOutV1:
		// Derived from the sale that preceded it; nothing to change.
	case concertevents.ConcertCancelledV1:
		c.cancelled = true
	}
}

func decode(eventType string, raw json.RawMessage) (any, error) {
	var (
		v   any
		err error
	)
	switch eventType {
	case concertevents.ConcertScheduled:
		v, err = unmarshal[concertevents.ConcertScheduledV1](raw)
	case concertevents.ConcertUpdated:
		v, err = unmarshal[concertevents.ConcertUpdatedV1](raw)
	case concertevents.ConcertRescheduled:
		v, err = unmarshal[concertevents.ConcertRescheduledV1](raw)
	case concertevents.TicketsSold:
		v, err = unmarshal[concertevents.TicketsSoldV1](raw)
	case concertevents.ConcertSoldOut:
		v, err = unmarshal[concertevents.ConcertSoldOutV1](raw)
	case concertevents.ConcertCancelled:
		v, err = unmarshal[concertevents.ConcertCancelledV1](raw)
	default:
		return nil, fmt.Errorf("unknown event type %q", eventType)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", eventType, err)
	}
	return v, nil
}

// unmarshal decodes raw into a T, returned by value as the events are applied.
func unmarshal[T any](raw json.RawMessage) (any, error) {
	var d T
	err := json.Unmarshal(raw, &d)
	return d, err
}

func text(field, s string, maxLen int) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", invalid(field, "must not be empty or blank")
	}
	if n > maxLen {
		return "", invalid(field, "must be at most %d characters after trimming, got %d", maxLen, n)
	}
	return s, nil
}

func price(p int64) error {
	if p < 0 || p > MaxPriceCents {
		return invalid("priceCents", "must be between 0 and %d, got %d", MaxPriceCents, p)
	}
	return nil
}

func futureStart(startsAt, now time.Time) error {
	if !startsAt.After(now) {
		return invalid("startsAt", "must be in the future, got %s", startsAt.Format(time.RFC3339))
	}
	if startsAt.After(latestStart) {
		return invalid("startsAt", "must be before %s", latestStart.Format(time.RFC3339))
	}
	return nil
}
