package domain

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event types the sales service reads (schemas/concerts/*.v1.json).
const (
	ConcertScheduled = "ConcertScheduled"
	TicketsSold      = "TicketsSold"
)

// Measure says what one concert event adds to its hour: a TicketsSold adds its
// quantity of tickets and one sale; a ConcertScheduled adds nothing but makes the
// concert known, so a concert without sales answers empty hours rather than 404.
func Measure(eventType string, data json.RawMessage) (Measurement, error) {
	switch eventType {
	case TicketsSold:
		var d struct {
			Quantity *int64 `json:"quantity"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			return Measurement{}, fmt.Errorf("data: %w", err)
		}
		if d.Quantity == nil || *d.Quantity < 1 {
			return Measurement{}, fmt.Errorf("data.quantity must be a positive integer, got %s", data)
		}
		return Measurement{Amount: *d.Quantity, Events: 1}, nil
	case ConcertScheduled:
		return Measurement{}, nil
	}
	return Measurement{}, fmt.Errorf("event type %q is not one the sales service subscribes to", eventType)
}

// Reads are the data properties Measure reads, by event type (the consumer contract,
// see Reads in the root package).
var Reads = map[string][]string{TicketsSold: {"quantity"}}

// HourView is one hour of GET /concerts/{id}/sales: tickets sold and sales made in it.
type HourView struct {
	Hour   time.Time `json:"hour"`
	Amount int64     `json:"tickets"`
	Events int64     `json:"sales"`
}

// TotalsView is the sum over every hour.
type TotalsView struct {
	Amount int64 `json:"tickets"`
	Events int64 `json:"sales"`
}
