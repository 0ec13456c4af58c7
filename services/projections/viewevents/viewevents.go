// Package viewevents is the published contract of the projections service: the
// ConcertViewUpdated event it puts on the bus after each committed read-model change.
package viewevents

import (
	"time"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/eventcatalog"
)

// Source is the EventBridge source of this service's events.
const Source = "projections"

// ConcertViewUpdated is published once per committed change of a concert's view.
const ConcertViewUpdated = "ConcertViewUpdated"

// Concert statuses as the query API shows them.
const (
	StatusScheduled = "scheduled"
	StatusSoldOut   = "soldout"
	StatusCancelled = "cancelled"
)

// ConcertViewV1 is the view exactly as GET /concerts/{id} returns it.
type ConcertViewV1 struct {
	ID               string    `json:"id"`
	Artist           string    `json:"artist"`
	Venue            string    `json:"venue"`
	StartsAt         time.Time `json:"startsAt"`
	Capacity         int       `json:"capacity" jsonschema:"minimum=1,maximum=1000000"`
	PriceCents       int64     `json:"priceCents" jsonschema:"minimum=0"`
	TicketsSold      int       `json:"ticketsSold" jsonschema:"minimum=0"`
	TicketsAvailable int       `json:"ticketsAvailable" jsonschema:"minimum=0"`
	Status           string    `json:"status" jsonschema:"enum=scheduled,enum=soldout,enum=cancelled"`
	Version          int64     `json:"version" jsonschema:"minimum=1"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// Catalog lists every event type this service publishes, with examples.
func Catalog() []eventcatalog.Type {
	at := time.Date(2026, 5, 1, 18, 4, 0, 0, time.UTC)
	return []eventcatalog.Type{{
		Source: Source, Name: ConcertViewUpdated, Version: 1, Data: ConcertViewV1{},
		Examples: []any{envelope.Typed[ConcertViewV1]{
			Metadata: envelope.Metadata{
				EventID:          "f0000000-0000-5000-8000-000000000004",
				AggregateID:      "c0ncert0-0000-4000-8000-000000000001",
				AggregateVersion: 4,
				EventType:        ConcertViewUpdated,
				SchemaVersion:    1,
				OccurredAt:       at,
				CorrelationID:    "req-8d2f1c",
				CausationID:      "e0000000-0000-4000-8000-000000000004",
			},
			Data: ConcertViewV1{
				ID: "c0ncert0-0000-4000-8000-000000000001", Artist: "The Midnight Owls", Venue: "Paradiso, Amsterdam",
				StartsAt: time.Date(2026, 9, 13, 20, 0, 0, 0, time.UTC), Capacity: 1500, PriceCents: 4500,
				TicketsSold: 4, TicketsAvailable: 1496, Status: StatusScheduled, Version: 4, UpdatedAt: at,
			},
		}},
	}}
}
