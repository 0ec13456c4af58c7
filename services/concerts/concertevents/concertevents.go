// Package concertevents is the published contract of the concerts service: the names
// and data of the events it puts on the bus. Consumers do not import it (they decode
// with their own types against schemas/); schemagen does, to generate those schemas.
package concertevents

import (
	"time"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/eventcatalog"
)

// Source is the EventBridge source of every event of this service.
const Source = "concerts"

// Event type names: stable, explicit, and equal to the schema file names.
const (
	ConcertScheduled   = "ConcertScheduled"
	ConcertUpdated     = "ConcertUpdated"
	ConcertRescheduled = "ConcertRescheduled"
	TicketsSold        = "TicketsSold"
	ConcertSoldOut     = "ConcertSoldOut"
	ConcertCancelled   = "ConcertCancelled"
)

// ConcertStateV1 is the whole concert as it is right after the event that carries it
// (event-carried state, the optional "state" of every event's data). A consumer that
// keeps, per concert, the state of the highest version it has seen needs no other
// event: it converges under loss, duplicates and any order without reading the
// producer's log. Events recorded before it existed do not carry it.
type ConcertStateV1 struct {
	Artist      string    `json:"artist" jsonschema:"minLength=1,maxLength=200"`
	Venue       string    `json:"venue" jsonschema:"minLength=1,maxLength=200"`
	StartsAt    time.Time `json:"startsAt"`
	Capacity    int       `json:"capacity" jsonschema:"minimum=1,maximum=1000000"`
	PriceCents  int64     `json:"priceCents" jsonschema:"minimum=0,maximum=100000000"`
	TicketsSold int       `json:"ticketsSold" jsonschema:"minimum=0,maximum=1000000"`
	Cancelled   bool      `json:"cancelled"`
}

// ConcertScheduledV1 opens a concert's history (version 1).
type ConcertScheduledV1 struct {
	Artist     string          `json:"artist" jsonschema:"minLength=1,maxLength=200"`
	Venue      string          `json:"venue" jsonschema:"minLength=1,maxLength=200"`
	StartsAt   time.Time       `json:"startsAt"`
	Capacity   int             `json:"capacity" jsonschema:"minimum=1,maximum=1000000"`
	PriceCents int64           `json:"priceCents" jsonschema:"minimum=0,maximum=100000000"`
	State      *ConcertStateV1 `json:"state,omitempty"`
}

// ConcertUpdatedV1 carries only the fields that changed.
type ConcertUpdatedV1 struct {
	Artist     *string         `json:"artist,omitempty" jsonschema:"minLength=1,maxLength=200"`
	Venue      *string         `json:"venue,omitempty" jsonschema:"minLength=1,maxLength=200"`
	PriceCents *int64          `json:"priceCents,omitempty" jsonschema:"minimum=0,maximum=100000000"`
	State      *ConcertStateV1 `json:"state,omitempty"`
}

// ConcertRescheduledV1 moves the start into the future.
type ConcertRescheduledV1 struct {
	StartsAt         time.Time       `json:"startsAt"`
	PreviousStartsAt time.Time       `json:"previousStartsAt"`
	State            *ConcertStateV1 `json:"state,omitempty"`
}

// TicketsSoldV1 records one sale with the totals after it, so a consumer can show
// them without replaying every sale.
type TicketsSoldV1 struct {
	Quantity         int             `json:"quantity" jsonschema:"minimum=1,maximum=100"`
	TicketsSold      int             `json:"ticketsSold" jsonschema:"minimum=1,maximum=1000000"`
	TicketsAvailable int             `json:"ticketsAvailable" jsonschema:"minimum=0,maximum=1000000"`
	State            *ConcertStateV1 `json:"state,omitempty"`
}

// ConcertSoldOutV1 is appended atomically with the TicketsSold that reaches capacity.
type ConcertSoldOutV1 struct {
	Capacity int             `json:"capacity" jsonschema:"minimum=1,maximum=1000000"`
	State    *ConcertStateV1 `json:"state,omitempty"`
}

// ConcertCancelledV1 is final: nothing but reads after it.
type ConcertCancelledV1 struct {
	Reason string          `json:"reason" jsonschema:"minLength=1,maxLength=500"`
	State  *ConcertStateV1 `json:"state,omitempty"`
}

// Catalog lists every event type this service publishes, with examples.
func Catalog() []eventcatalog.Type {
	const id = "c0ncert0-0000-4000-8000-000000000001"
	at := time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
	starts := time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC)
	meta := func(name string, version int64) envelope.Metadata {
		return envelope.Metadata{
			EventID:          "e0000000-0000-4000-8000-00000000000" + string(rune('0'+version)),
			AggregateID:      id,
			AggregateVersion: version,
			EventType:        name,
			SchemaVersion:    1,
			OccurredAt:       at.Add(time.Duration(version) * time.Minute),
			CorrelationID:    "req-8d2f1c",
			CausationID:      "req-8d2f1c",
		}
	}
	artist, price := "The Midnight Owls", int64(4500)
	state := func(sold int, mutate func(*ConcertStateV1)) *ConcertStateV1 {
		s := ConcertStateV1{Artist: "The Midnight Owls", Venue: "Paradiso, Amsterdam", StartsAt: starts,
			Capacity: 1500, PriceCents: 4200, TicketsSold: sold}
		if mutate != nil {
			mutate(&s)
		}
		return &s
	}
	return []eventcatalog.Type{
		{Source: Source, Name: ConcertScheduled, Version: 1, Data: ConcertScheduledV1{}, Examples: []any{
			envelope.Typed[ConcertScheduledV1]{Metadata: meta(ConcertScheduled, 1), Data: ConcertScheduledV1{
				Artist: "The Midnight Owls", Venue: "Paradiso, Amsterdam", StartsAt: starts, Capacity: 1500, PriceCents: 4200, State: state(0, nil)}},
		}},
		{Source: Source, Name: ConcertUpdated, Version: 1, Data: ConcertUpdatedV1{}, Examples: []any{
			envelope.Typed[ConcertUpdatedV1]{Metadata: meta(ConcertUpdated, 2), Data: ConcertUpdatedV1{Artist: &artist, PriceCents: &price,
				State: state(0, func(s *ConcertStateV1) { s.PriceCents = price })}},
		}},
		{Source: Source, Name: ConcertRescheduled, Version: 1, Data: ConcertRescheduledV1{}, Examples: []any{
			envelope.Typed[ConcertRescheduledV1]{Metadata: meta(ConcertRescheduled, 3), Data: ConcertRescheduledV1{
				StartsAt: starts.Add(24 * time.Hour), PreviousStartsAt: starts,
				State: state(0, func(s *ConcertStateV1) { s.PriceCents, s.StartsAt = price, starts.Add(24*time.Hour) })}},
		}},
		{Source: Source, Name: TicketsSold, Version: 1, Data: TicketsSoldV1{}, Examples: []any{
			envelope.Typed[TicketsSoldV1]{Metadata: meta(TicketsSold, 4), Data: TicketsSoldV1{Quantity: 4, TicketsSold: 4, TicketsAvailable: 1496,
				State: state(4, func(s *ConcertStateV1) { s.PriceCents, s.StartsAt = price, starts.Add(24*time.Hour) })}},
			// As published before events carried their state: consumers read both forms.
			envelope.Typed[TicketsSoldV1]{Metadata: meta(TicketsSold, 4), Data: TicketsSoldV1{Quantity: 4, TicketsSold: 4, TicketsAvailable: 1496}},
		}},
		{Source: Source, Name: ConcertSoldOut, Version: 1, Data: ConcertSoldOutV1{}, Examples: []any{
			envelope.Typed[ConcertSoldOutV1]{Metadata: meta(ConcertSoldOut, 6), Data: ConcertSoldOutV1{Capacity: 1500,
				State: state(1500, func(s *ConcertStateV1) { s.PriceCents, s.StartsAt = price, starts.Add(24*time.Hour) })}},
		}},
		{Source: Source, Name: ConcertCancelled, Version: 1, Data: ConcertCancelledV1{}, Examples: []any{
			envelope.Typed[ConcertCancelledV1]{Metadata: meta(ConcertCancelled, 7), Data: ConcertCancelledV1{Reason: "The venue flooded",
				State: state(1500, func(s *ConcertStateV1) {
					s.PriceCents, s.StartsAt, s.Cancelled = price, starts.Add(24*time.Hour), true
				})}},
		}},
	}
}
