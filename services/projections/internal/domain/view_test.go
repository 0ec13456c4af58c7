package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/viewevents"
)

const id = "c-1"

var t0 = time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)

func ev(version int64, eventType, data string) domain.Event {
	return domain.Event{
		Meta: envelope.Metadata{
			EventID: "e" + string(rune('0'+version)), AggregateID: id, AggregateVersion: version, EventType: eventType,
			SchemaVersion: 1, OccurredAt: t0.Add(time.Duration(version)*time.Minute + 1234567*time.Nanosecond),
			CorrelationID: "corr", CausationID: "cause",
		},
		Data: json.RawMessage(data),
	}
}

const scheduled = `{"artist":"A","venue":"V","startsAt":"2026-09-12T22:00:00+02:00","capacity":10,"priceCents":4200}`

func TestApply(t *testing.T) {
	starts := time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC)
	base := viewevents.ConcertViewV1{ID: id, Artist: "A", Venue: "V", StartsAt: starts, Capacity: 10, PriceCents: 4200,
		TicketsAvailable: 10, Status: viewevents.StatusScheduled}
	tests := []struct {
		name  string
		after []domain.Event // applied after ConcertScheduled
		want  func(v *viewevents.ConcertViewV1)
	}{
		{"scheduled", nil, func(v *viewevents.ConcertViewV1) {}},
		{"updated only given fields", []domain.Event{ev(2, domain.ConcertUpdated, `{"venue":"W"}`)},
			func(v *viewevents.ConcertViewV1) { v.Venue = "W" }},
		{"updated all fields", []domain.Event{ev(2, domain.ConcertUpdated, `{"artist":"B","venue":"W","priceCents":0}`)},
			func(v *viewevents.ConcertViewV1) { v.Artist, v.Venue, v.PriceCents = "B", "W", 0 }},
		{"rescheduled", []domain.Event{ev(2, domain.ConcertRescheduled, `{"startsAt":"2026-10-01T20:00:00Z","previousStartsAt":"2026-09-12T20:00:00Z"}`)},
			func(v *viewevents.ConcertViewV1) { v.StartsAt = time.Date(2026, 10, 1, 20, 0, 0, 0, time.UTC) }},
		{"tickets sold takes the totals", []domain.Event{ev(2, domain.TicketsSold, `{"quantity":3,"ticketsSold":3,"ticketsAvailable":7}`)},
			func(v *viewevents.ConcertViewV1) { v.TicketsSold, v.TicketsAvailable = 3, 7 }},
		{"sold out", []domain.Event{ev(2, domain.TicketsSold, `{"quantity":10,"ticketsSold":10,"ticketsAvailable":0}`),
			ev(3, domain.ConcertSoldOut, `{"capacity":10}`)},
			func(v *viewevents.ConcertViewV1) {
				v.TicketsSold, v.TicketsAvailable, v.Status = 10, 0, viewevents.StatusSoldOut
			}},
		{"cancelled", []domain.Event{ev(2, domain.ConcertCancelled, `{"reason":"flood"}`)},
			func(v *viewevents.ConcertViewV1) { v.Status = viewevents.StatusCancelled }},
		{"unknown later type advances the version only", []domain.Event{ev(2, "ConcertPostered", `{"x":1}`)},
			func(v *viewevents.ConcertViewV1) {}},
		{"unknown fields are tolerated", []domain.Event{ev(2, domain.ConcertUpdated, `{"venue":"W","newField":true}`)},
			func(v *viewevents.ConcertViewV1) { v.Venue = "W" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := domain.New(id)
			require.NoError(t, v.Apply(ev(1, domain.ConcertScheduled, scheduled)))
			last := ev(1, "", "")
			for _, e := range tc.after {
				require.NoError(t, v.Apply(e))
				last = e
			}
			want := base
			tc.want(&want)
			want.Version = last.Meta.AggregateVersion
			want.UpdatedAt = last.Meta.OccurredAt.Truncate(time.Millisecond)
			require.Equal(t, want, v.State())
			eventID, corr := v.LastEvent()
			require.Equal(t, last.Meta.EventID, eventID)
			require.Equal(t, "corr", corr)
		})
	}
}

func TestApplyRejects(t *testing.T) {
	tests := []struct {
		name    string
		event   domain.Event
		wantErr error
	}{
		{"duplicate", ev(1, domain.ConcertScheduled, scheduled), domain.ErrDuplicate},
		{"missing required field", ev(2, domain.TicketsSold, `{"quantity":1,"ticketsSold":1}`), domain.ErrInvalidEvent},
		{"renamed field", ev(2, domain.ConcertRescheduled, `{"startTime":"2026-10-01T20:00:00Z"}`), domain.ErrInvalidEvent},
		{"wrong type", ev(2, domain.TicketsSold, `{"quantity":"1","ticketsSold":1,"ticketsAvailable":9}`), domain.ErrInvalidEvent},
		{"not an object", ev(2, domain.ConcertCancelled, `[]`), domain.ErrInvalidEvent},
		{"no data", ev(2, domain.ConcertCancelled, ``), domain.ErrInvalidEvent},
		{"negative totals", ev(2, domain.TicketsSold, `{"quantity":1,"ticketsSold":11,"ticketsAvailable":-1}`), domain.ErrInvalidEvent},
		{"second ConcertScheduled", ev(2, domain.ConcertScheduled, scheduled), domain.ErrInvalidEvent},
		{"other concert", func() domain.Event {
			e := ev(2, domain.ConcertCancelled, `{"reason":"x"}`)
			e.Meta.AggregateID = "c-2"
			return e
		}(), domain.ErrInvalidEvent},
		{"unsupported schema version", func() domain.Event {
			e := ev(2, domain.ConcertCancelled, `{"reason":"x"}`)
			e.Meta.SchemaVersion = 2
			return e
		}(), domain.ErrInvalidEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := domain.New(id)
			require.NoError(t, v.Apply(ev(1, domain.ConcertScheduled, scheduled)))
			before := v.State()
			err := v.Apply(tc.event)
			require.ErrorIs(t, err, tc.wantErr, "got %v, want %v", err, tc.wantErr)
			require.Equal(t, before, v.State(), "a rejected event must leave the view unchanged")
		})
	}
	t.Run("gap", func(t *testing.T) {
		v := domain.New(id)
		require.NoError(t, v.Apply(ev(1, domain.ConcertScheduled, scheduled)))
		var gap *domain.GapError
		require.ErrorAs(t, v.Apply(ev(3, domain.ConcertCancelled, `{"reason":"x"}`)), &gap)
		require.Equal(t, domain.GapError{ConcertID: id, Have: 1, Got: 3}, *gap)
	})
	t.Run("history must start with ConcertScheduled", func(t *testing.T) {
		err := domain.New(id).Apply(ev(1, domain.ConcertUpdated, `{"venue":"W"}`))
		require.ErrorIs(t, err, domain.ErrInvalidEvent)
	})
}

func TestParseDetail(t *testing.T) {
	good := `{"metadata":{"eventId":"e1","aggregateId":"c-1","aggregateVersion":1,"eventType":"ConcertScheduled","schemaVersion":1,` +
		`"occurredAt":"2026-05-01T18:00:00Z","correlationId":"r","causationId":"r"},"data":` + scheduled + `}`
	e, err := domain.ParseDetail(domain.ConcertScheduled, []byte(good))
	require.NoError(t, err)
	require.Equal(t, int64(1), e.Meta.AggregateVersion)
	tests := []struct{ name, eventType, detail string }{
		{"type mismatch", domain.ConcertCancelled, good},
		{"not JSON", domain.ConcertScheduled, `{`},
		{"no metadata", domain.ConcertScheduled, `{"data":{}}`},
		{"version 0", domain.ConcertScheduled, `{"metadata":{"aggregateId":"c","aggregateVersion":0,"eventType":"ConcertScheduled","occurredAt":"2026-05-01T18:00:00Z"}}`},
		{"no occurredAt", domain.ConcertScheduled, `{"metadata":{"aggregateId":"c","aggregateVersion":1,"eventType":"ConcertScheduled"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := domain.ParseDetail(tc.eventType, []byte(tc.detail))
			require.ErrorIs(t, err, domain.ErrInvalidEvent)
		})
	}
}
