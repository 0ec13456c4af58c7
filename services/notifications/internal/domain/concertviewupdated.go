package domain

import (
	"encoding/json"
	"fmt"
	"time"
)

// Consumed event: the projections service's ConcertViewUpdated, decoded with this
// service's own types (consumers depend on the schema, never on the producer's Go
// packages). schemas/projections/ConcertViewUpdated.v1.json is the contract.
const (
	ViewEventsSource            = "projections"
	EventTypeConcertViewUpdated = "ConcertViewUpdated"
)

// ConcertView is the view as GET /concerts/{id} returns it.
type ConcertView struct {
	ID               string    `json:"id"`
	Artist           string    `json:"artist"`
	Venue            string    `json:"venue"`
	StartsAt         time.Time `json:"startsAt"`
	Capacity         int       `json:"capacity"`
	PriceCents       int64     `json:"priceCents"`
	TicketsSold      int       `json:"ticketsSold"`
	TicketsAvailable int       `json:"ticketsAvailable"`
	Status           string    `json:"status"`
	Version          int64     `json:"version"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

type concertViewUpdatedDetail struct {
	Metadata struct {
		EventID          string `json:"eventId"`
		AggregateID      string `json:"aggregateId"`
		AggregateVersion int64  `json:"aggregateVersion"`
		EventType        string `json:"eventType"`
		SchemaVersion    int    `json:"schemaVersion"`
	} `json:"metadata"`
	Data *ConcertView `json:"data"`
}

// ConcertViewUpdated is one committed change of a concert's view, ready to fan out.
type ConcertViewUpdated struct {
	EventID   string
	ConcertID string
	Version   int64
	// View is the view re-encoded from ConcertView, so clients always get the
	// documented shape.
	View json.RawMessage
	// TraceID is the trace of the change (from the event's traceparent), "" if none.
	TraceID string
}

// DecodeConcertViewUpdated decodes a ConcertViewUpdated detail. It is a tolerant reader
// (unknown fields are ignored, so compatible additions do not break it) but insists
// on what fan-out needs: the concert id and a positive version, agreeing between
// metadata and view.
func DecodeConcertViewUpdated(detail []byte) (ConcertViewUpdated, error) {
	var d concertViewUpdatedDetail
	if err := json.Unmarshal(detail, &d); err != nil {
		return ConcertViewUpdated{}, fmt.Errorf("decode %s detail: %w", EventTypeConcertViewUpdated, err)
	}
	m := d.Metadata
	switch {
	case d.Data == nil:
		return ConcertViewUpdated{}, fmt.Errorf("decode %s detail: data is missing", EventTypeConcertViewUpdated)
	case m.AggregateID == "":
		return ConcertViewUpdated{}, fmt.Errorf("decode %s detail: metadata.aggregateId is missing", EventTypeConcertViewUpdated)
	case m.AggregateVersion < 1:
		return ConcertViewUpdated{}, fmt.Errorf("decode %s detail: metadata.aggregateVersion %d is not positive", EventTypeConcertViewUpdated, m.AggregateVersion)
	case m.SchemaVersion != 0 && m.SchemaVersion != 1:
		return ConcertViewUpdated{}, fmt.Errorf("decode %s detail: schemaVersion %d is not supported", EventTypeConcertViewUpdated, m.SchemaVersion)
	case d.Data.ID != m.AggregateID:
		return ConcertViewUpdated{}, fmt.Errorf("decode %s detail: data.id %q differs from metadata.aggregateId %q", EventTypeConcertViewUpdated, d.Data.ID, m.AggregateID)
	case d.Data.Version != m.AggregateVersion:
		return ConcertViewUpdated{}, fmt.Errorf("decode %s detail: data.version %d differs from metadata.aggregateVersion %d", EventTypeConcertViewUpdated, d.Data.Version, m.AggregateVersion)
	}
	if _, err := ParseConcertID(m.AggregateID); err != nil || m.AggregateID == AllConcerts {
		return ConcertViewUpdated{}, fmt.Errorf("decode %s detail: aggregateId %q is not a valid concert id", EventTypeConcertViewUpdated, truncate(m.AggregateID, 80))
	}
	view, err := json.Marshal(d.Data)
	if err != nil {
		return ConcertViewUpdated{}, fmt.Errorf("encode view of %s: %w", m.AggregateID, err)
	}
	return ConcertViewUpdated{EventID: m.EventID, ConcertID: m.AggregateID, Version: m.AggregateVersion, View: view}, nil
}
