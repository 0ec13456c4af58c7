package domain_test

import (
	"testing"

	"github.com/concertsys/services/projections/internal/domain"
)

// FuzzDecodeAndApply: any detail either fails with ErrInvalidEvent (or as a
// duplicate/gap) or applies; it never panics and never half-applies.
func FuzzDecodeAndApply(f *testing.F) {
	f.Add("TicketsSold", `{"metadata":{"aggregateId":"c-1","aggregateVersion":2,"eventType":"TicketsSold","schemaVersion":1,"occurredAt":"2026-05-01T18:00:00Z"},"data":{"quantity":1,"ticketsSold":1,"ticketsAvailable":9}}`)
	f.Add("ConcertUpdated", `{"metadata":{"aggregateId":"c-1","aggregateVersion":2,"eventType":"ConcertUpdated","schemaVersion":1,"occurredAt":"2026-05-01T18:00:00Z"},"data":{"priceCents":-1}}`)
	f.Add("ConcertRescheduled", `{"metadata":{"aggregateId":"c-1","aggregateVersion":2,"eventType":"ConcertRescheduled","schemaVersion":1,"occurredAt":"2026-05-01T18:00:00Z"},"data":{"startsAt":null}}`)
	f.Add("ConcertCancelled", `{"metadata":null,"data":7}`)
	f.Fuzz(func(t *testing.T, eventType, detail string) {
		e, err := domain.ParseDetail(eventType, []byte(detail))
		if err != nil {
			return
		}
		v := domain.New("c-1")
		if err := v.Apply(ev(1, domain.ConcertScheduled, scheduled)); err != nil {
			t.Fatal(err)
		}
		before := v.State()
		if err := v.Apply(e); err != nil && v.State() != before {
			t.Fatalf("failed apply changed the view: %v", err)
		}
		if s := v.State(); s.TicketsAvailable < 0 || s.TicketsSold < 0 || s.PriceCents < 0 || s.Capacity < 1 {
			t.Fatalf("view out of range: %+v", s)
		}
	})
}
