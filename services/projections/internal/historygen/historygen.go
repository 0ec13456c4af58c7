// Package historygen generates valid random concert histories (as the concerts
// service would write them to its event log) for the projection's property tests,
// rebuild tests and benchmarks, and turns log records into the EventBridge events the
// pipe delivers.
package historygen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/services/projections/internal/domain"
)

// Start is the time of the first event of generated histories.
var Start = time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)

// History returns the events of one concert: ConcertScheduled, then random updates,
// reschedules and sales (with ConcertSoldOut right after the sale that reaches
// capacity), possibly ending in ConcertCancelled; at most maxEvents events.
func History(r *rand.Rand, id string, maxEvents int) []eventlog.Event {
	at := Start.Add(time.Duration(r.IntN(1_000_000)) * time.Millisecond)
	capacity := 1 + r.IntN(40)
	sold, status := 0, "scheduled"
	var out []eventlog.Event
	add := func(eventType string, data any) {
		raw, _ := json.Marshal(data) // maps of strings and numbers always marshal
		at = at.Add(time.Duration(1+r.IntN(5000)) * time.Millisecond)
		v := int64(len(out) + 1)
		out = append(out, eventlog.Event{
			AggregateID: id, Version: v, EventID: fmt.Sprintf("%s-e%d", id, v), EventType: eventType,
			SchemaVersion: 1, OccurredAt: at, CorrelationID: fmt.Sprintf("req-%s-%d", id, v),
			CausationID: fmt.Sprintf("req-%s-%d", id, v), Data: raw,
		})
	}
	startsAt := time.Date(2026, 9, 1, 20, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(90*24)) * time.Hour)
	add(domain.ConcertScheduled, map[string]any{"artist": fmt.Sprintf("Artist %d", r.IntN(1000)), "venue": "Venue " + id,
		"startsAt": startsAt, "capacity": capacity, "priceCents": r.IntN(100000)})
	for len(out) < maxEvents && status != "cancelled" {
		switch n := r.IntN(100); {
		case n < 15:
			d := map[string]any{}
			if r.IntN(2) == 0 {
				d["artist"] = fmt.Sprintf("Artist %d", r.IntN(1000))
			}
			if r.IntN(2) == 0 {
				d["venue"] = fmt.Sprintf("Venue %d", r.IntN(1000))
			}
			if len(d) == 0 || r.IntN(2) == 0 {
				d["priceCents"] = r.IntN(100000)
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

// BusEvent is the EventBridge event the pipe delivers for a log record.
func BusEvent(e eventlog.Event) events.EventBridgeEvent {
	detail, _ := json.Marshal(envelope.Detail{ // a Detail of valid JSON data always marshals
		Metadata: domain.FromLog(e).Meta,
		Data:     e.Data,
	})
	return events.EventBridgeEvent{
		Version: "0", ID: "eb-" + e.EventID, DetailType: e.EventType, Source: domain.Source,
		AccountID: "000000000000", Time: e.OccurredAt, Region: "us-east-1", Detail: detail,
	}
}
