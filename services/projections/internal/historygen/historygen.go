// Package historygen generates valid random concert histories (as the concerts
// service publishes them on the bus, each event carrying the concert's state after it)
// for the projection's property tests, rebuild tests and benchmarks, and turns them
// into the EventBridge events the bus delivers and archives.
package historygen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/services/projections/internal/domain"
)

// Start is the time of the first event of generated histories.
var Start = time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)

// History returns the events of one concert: ConcertScheduled, then random updates,
// reschedules and sales (with ConcertSoldOut right after the sale that reaches
// capacity), possibly ending in ConcertCancelled; at most maxEvents events.
func History(r *rand.Rand, id string, maxEvents int) []domain.Event {
	at := Start.Add(time.Duration(r.IntN(1_000_000)) * time.Millisecond)
	capacity := 1 + r.IntN(40)
	sold, status := 0, "scheduled"
	startsAt := time.Date(2026, 9, 1, 20, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(90*24)) * time.Hour)
	artist, venue, price := fmt.Sprintf("Artist %d", r.IntN(1000)), "Venue "+id, r.IntN(100000)
	var out []domain.Event
	add := func(eventType string, data map[string]any) {
		// What the concerts service's aggregate records: the concert after the event.
		data["state"] = map[string]any{"artist": artist, "venue": venue, "startsAt": startsAt, "capacity": capacity,
			"priceCents": price, "ticketsSold": sold, "cancelled": status == "cancelled"}
		raw, _ := json.Marshal(data) // maps of strings, numbers and times always marshal
		at = at.Add(time.Duration(1+r.IntN(5000)) * time.Millisecond)
		v := int64(len(out) + 1)
		out = append(out, domain.Event{Meta: envelope.Metadata{
			AggregateID: id, AggregateVersion: v, EventID: fmt.Sprintf("%s-e%d", id, v), EventType: eventType,
			SchemaVersion: 1, OccurredAt: at, CorrelationID: fmt.Sprintf("req-%s-%d", id, v),
			CausationID: fmt.Sprintf("req-%s-%d", id, v)}, Data: raw,
		})
	}
	add(domain.ConcertScheduled, map[string]any{"artist": artist, "venue": venue,
		"startsAt": startsAt, "capacity": capacity, "priceCents": price})
	for len(out) < maxEvents && status != "cancelled" {
		switch n := r.IntN(100); {
		case n < 15:
			d := map[string]any{}
			if r.IntN(2) == 0 {
				artist = fmt.Sprintf("Artist %d", r.IntN(1000))
				d["artist"] = artist
			}
			if r.IntN(2) == 0 {
				venue = fmt.Sprintf("Venue %d", r.IntN(1000))
				d["venue"] = venue
			}
			if len(d) == 0 || r.IntN(2) == 0 {
				price = r.IntN(100000)
				d["priceCents"] = price
			}
			add(domain.ConcertUpdated, d)
		case n < 25:
			prev := startsAt
			startsAt = startsAt.Add(time.Duration(1+r.IntN(240)) * time.Hour)
			add(domain.ConcertRescheduled, map[string]any{"startsAt": startsAt, "previousStartsAt": prev})
		case n < 95:
			if status != "scheduled" || len(out)+2 > maxEvents {
				continue
			}
			q := 1 + r.IntN(min(capacity-sold, 100))
			sold += q
			add(domain.TicketsSold, map[string]any{"quantity": q, "ticketsSold": sold, "ticketsAvailable": capacity - sold})
			if sold == capacity {
				status = "soldout"
				add(domain.ConcertSoldOut, map[string]any{"capacity": capacity})
			}
		default:
			status = "cancelled"
			add(domain.ConcertCancelled, map[string]any{"reason": "generated"})
		}
	}
	return out
}

// WithoutState is e as published before events carried the concert's state.
func WithoutState(e domain.Event) domain.Event {
	var data map[string]json.RawMessage
	if json.Unmarshal(e.Data, &data) != nil {
		return e
	}
	delete(data, "state")
	e.Data, _ = json.Marshal(data) // raw JSON values always marshal
	return e
}

// BusEvent is the EventBridge event the bus delivers for e.
func BusEvent(e domain.Event) events.EventBridgeEvent {
	detail, _ := json.Marshal(envelope.Detail{ // a Detail of valid JSON data always marshals
		Metadata: e.Meta,
		Data:     e.Data,
	})
	return events.EventBridgeEvent{
		Version: "0", ID: "eb-" + e.Meta.EventID, DetailType: e.Meta.EventType, Source: domain.Source,
		AccountID: "000000000000", Time: e.Meta.OccurredAt, Region: "us-east-1", Resources: []string{}, Detail: detail,
	}
}

// ArchivedEvent is e's EventBridge event as JSON, as the bus archive keeps it and a
// replay delivers it.
func ArchivedEvent(e domain.Event) []byte {
	raw, _ := json.Marshal(BusEvent(e)) // an event of valid JSON always marshals
	return raw
}
