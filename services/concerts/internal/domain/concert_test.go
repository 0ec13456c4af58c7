package domain_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/concerts/concertevents"
	"github.com/concertsys/services/concerts/internal/domain"
)

var (
	now    = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	starts = now.Add(30 * 24 * time.Hour)
)

func strp(s string) *string { return &s }
func intp(i int64) *int64   { return &i }

// scheduled returns a stored concert (no pending events) with the given capacity.
func scheduled(t *testing.T, capacity int) *domain.Concert {
	t.Helper()
	c, err := domain.Schedule("c1", "Artist", "Venue", starts, capacity, 4200, now)
	require.NoError(t, err)
	c.MarkCommitted()
	return c
}

func types(evs []domain.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventType
	}
	return out
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name       string
		artist     string
		venue      string
		startsAt   time.Time
		capacity   int
		price      int64
		wantField  string // "" means success
		wantArtist string
	}{
		{name: "valid", artist: "  The Owls ", venue: "Paradiso", startsAt: starts, capacity: 1500, price: 4200, wantArtist: "The Owls"},
		{name: "capacity one", artist: "A", venue: "V", startsAt: starts, capacity: 1, wantArtist: "A"},
		{name: "capacity max", artist: "A", venue: "V", startsAt: starts, capacity: 1_000_000, wantArtist: "A"},
		{name: "free", artist: "A", venue: "V", startsAt: starts, capacity: 1, price: 0, wantArtist: "A"},
		{name: "max price", artist: "A", venue: "V", startsAt: starts, capacity: 1, price: 100_000_000, wantArtist: "A"},
		{name: "artist 200 runes", artist: strings.Repeat("é", 200), venue: "V", startsAt: starts, capacity: 1, wantArtist: strings.Repeat("é", 200)},
		{name: "blank artist", artist: "   ", venue: "V", startsAt: starts, capacity: 1, wantField: "artist"},
		{name: "empty venue", artist: "A", venue: "", startsAt: starts, capacity: 1, wantField: "venue"},
		{name: "artist too long", artist: strings.Repeat("a", 201), venue: "V", startsAt: starts, capacity: 1, wantField: "artist"},
		{name: "venue too long", artist: "A", venue: strings.Repeat("v", 201), startsAt: starts, capacity: 1, wantField: "venue"},
		{name: "starts now", artist: "A", venue: "V", startsAt: now, capacity: 1, wantField: "startsAt"},
		{name: "starts in past", artist: "A", venue: "V", startsAt: now.Add(-time.Second), capacity: 1, wantField: "startsAt"},
		{name: "starts beyond year 9999", artist: "A", venue: "V", startsAt: time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC), capacity: 1, wantField: "startsAt"},
		{name: "capacity zero", artist: "A", venue: "V", startsAt: starts, capacity: 0, wantField: "capacity"},
		{name: "capacity negative", artist: "A", venue: "V", startsAt: starts, capacity: -5, wantField: "capacity"},
		{name: "capacity too big", artist: "A", venue: "V", startsAt: starts, capacity: 1_000_001, wantField: "capacity"},
		{name: "negative price", artist: "A", venue: "V", startsAt: starts, capacity: 1, price: -1, wantField: "priceCents"},
		{name: "price too big", artist: "A", venue: "V", startsAt: starts, capacity: 1, price: 100_000_001, wantField: "priceCents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := domain.Schedule("c1", tt.artist, tt.venue, tt.startsAt, tt.capacity, tt.price, now)
			if tt.wantField != "" {
				var verr *domain.ValidationError
				require.ErrorAs(t, err, &verr)
				require.ErrorIs(t, err, domain.ErrInvalid)
				require.Equal(t, tt.wantField, verr.Field, "got field %q want %q", verr.Field, tt.wantField)
				require.Nil(t, c)
				return
			}
			require.NoError(t, err)
			pending := c.Pending()
			require.Len(t, pending, 1)
			require.Equal(t, concertevents.ConcertScheduled, pending[0].EventType)
			require.Equal(t, int64(1), pending[0].Version)
			require.Equal(t, int64(1), c.Version())
			require.Equal(t, int64(0), c.CommittedVersion())
			require.Equal(t, tt.wantArtist, c.State().Artist)
		})
	}
}

func TestSellTickets(t *testing.T) {
	tests := []struct {
		name      string
		capacity  int
		before    []int // sales made first
		cancelled bool
		at        time.Time
		quantity  int
		wantErr   error
		wantTypes []string
		wantSold  int
	}{
		{name: "one", capacity: 10, at: now, quantity: 1, wantTypes: []string{concertevents.TicketsSold}, wantSold: 1},
		{name: "hundred", capacity: 1000, at: now, quantity: 100, wantTypes: []string{concertevents.TicketsSold}, wantSold: 100},
		{name: "reaching capacity sells out atomically", capacity: 10, before: []int{6}, at: now, quantity: 4,
			wantTypes: []string{concertevents.TicketsSold, concertevents.ConcertSoldOut}, wantSold: 10},
		{name: "whole capacity at once", capacity: 3, at: now, quantity: 3,
			wantTypes: []string{concertevents.TicketsSold, concertevents.ConcertSoldOut}, wantSold: 3},
		{name: "zero", capacity: 10, at: now, quantity: 0, wantErr: domain.ErrInvalid},
		{name: "negative", capacity: 10, at: now, quantity: -1, wantErr: domain.ErrInvalid},
		{name: "over hundred", capacity: 1000, at: now, quantity: 101, wantErr: domain.ErrInvalid},
		{name: "more than left", capacity: 10, before: []int{8}, at: now, quantity: 3, wantErr: domain.ErrNotEnoughTickets},
		{name: "sold out", capacity: 2, before: []int{2}, at: now, quantity: 1, wantErr: domain.ErrSoldOut},
		{name: "cancelled", capacity: 10, cancelled: true, at: now, quantity: 1, wantErr: domain.ErrCancelled},
		{name: "started exactly", capacity: 10, at: starts, quantity: 1, wantErr: domain.ErrStarted},
		{name: "after start", capacity: 10, at: starts.Add(time.Hour), quantity: 1, wantErr: domain.ErrStarted},
		{name: "invalid quantity wins over cancelled", capacity: 10, cancelled: true, at: now, quantity: 0, wantErr: domain.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := scheduled(t, tt.capacity)
			for _, q := range tt.before {
				require.NoError(t, c.SellTickets(q, now))
			}
			if tt.cancelled {
				require.NoError(t, c.Cancel("flood"))
			}
			c.MarkCommitted()
			before := c.Version()
			err := c.SellTickets(tt.quantity, tt.at)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Empty(t, c.Pending(), "a refused command records nothing")
				require.Equal(t, before, c.Version())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantTypes, types(c.Pending()))
			require.Equal(t, tt.wantSold, c.State().TicketsSold)
			sold := c.Pending()[0].Data.(concertevents.TicketsSoldV1)
			sold.State = nil // TestEveryEventCarriesTheStateItLeaves
			require.Equal(t, concertevents.TicketsSoldV1{Quantity: tt.quantity, TicketsSold: tt.wantSold, TicketsAvailable: tt.capacity - tt.wantSold}, sold)
			require.Equal(t, before+int64(len(tt.wantTypes)), c.Version())
		})
	}
}

func TestNeverOversells(t *testing.T) {
	c := scheduled(t, 250)
	sold := 0
	for i := 0; ; i++ {
		q := 1 + i%100
		err := c.SellTickets(q, now)
		if err != nil {
			require.True(t, errors.Is(err, domain.ErrNotEnoughTickets) || errors.Is(err, domain.ErrSoldOut), "got %v", err)
			if errors.Is(err, domain.ErrSoldOut) {
				break
			}
			require.NoError(t, c.SellTickets(250-sold, now))
			sold = 250
			continue
		}
		sold += q
		require.LessOrEqual(t, c.State().TicketsSold, 250)
	}
	require.Equal(t, 250, c.State().TicketsSold)
}

func TestReschedule(t *testing.T) {
	later := starts.Add(48 * time.Hour)
	tests := []struct {
		name      string
		cancelled bool
		at        time.Time
		to        time.Time
		wantErr   error
		wantEvent bool
	}{
		{name: "later", at: now, to: later, wantEvent: true},
		{name: "earlier but future", at: now, to: now.Add(time.Hour), wantEvent: true},
		{name: "same start records nothing", at: now, to: starts},
		{name: "into the past", at: now, to: now.Add(-time.Hour), wantErr: domain.ErrInvalid},
		{name: "to now", at: now, to: now, wantErr: domain.ErrInvalid},
		{name: "cancelled", cancelled: true, at: now, to: later, wantErr: domain.ErrCancelled},
		{name: "started", at: starts.Add(time.Minute), to: later, wantErr: domain.ErrStarted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := scheduled(t, 10)
			if tt.cancelled {
				require.NoError(t, c.Cancel("flood"))
				c.MarkCommitted()
			}
			err := c.Reschedule(tt.to, tt.at)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Empty(t, c.Pending())
				return
			}
			require.NoError(t, err)
			if !tt.wantEvent {
				require.Empty(t, c.Pending())
				return
			}
			p := c.Pending()
			require.Equal(t, []string{concertevents.ConcertRescheduled}, types(p))
			got := p[0].Data.(concertevents.ConcertRescheduledV1)
			got.State = nil
			require.Equal(t, concertevents.ConcertRescheduledV1{StartsAt: tt.to, PreviousStartsAt: starts}, got)
			require.Equal(t, tt.to, c.State().StartsAt)
		})
	}
}

func TestUpdate(t *testing.T) {
	tests := []struct {
		name      string
		cancelled bool
		artist    *string
		venue     *string
		price     *int64
		wantErr   error
		want      *concertevents.ConcertUpdatedV1 // nil: no event
	}{
		{name: "artist", artist: strp(" New "), want: &concertevents.ConcertUpdatedV1{Artist: strp("New")}},
		{name: "venue and price", venue: strp("Hall"), price: intp(0), want: &concertevents.ConcertUpdatedV1{Venue: strp("Hall"), PriceCents: intp(0)}},
		{name: "only changed fields", artist: strp("Artist"), price: intp(5000), want: &concertevents.ConcertUpdatedV1{PriceCents: intp(5000)}},
		{name: "nothing changes", artist: strp("Artist"), venue: strp("Venue")},
		{name: "no fields", wantErr: domain.ErrInvalid},
		{name: "blank artist", artist: strp(" "), wantErr: domain.ErrInvalid},
		{name: "long venue", venue: strp(strings.Repeat("x", 201)), wantErr: domain.ErrInvalid},
		{name: "negative price", price: intp(-1), wantErr: domain.ErrInvalid},
		{name: "price too big", price: intp(100_000_001), wantErr: domain.ErrInvalid},
		{name: "cancelled", cancelled: true, artist: strp("X"), wantErr: domain.ErrCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := scheduled(t, 10)
			if tt.cancelled {
				require.NoError(t, c.Cancel("flood"))
				c.MarkCommitted()
			}
			err := c.Update(tt.artist, tt.venue, tt.price)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Empty(t, c.Pending())
				return
			}
			require.NoError(t, err)
			if tt.want == nil {
				require.Empty(t, c.Pending())
				return
			}
			p := c.Pending()
			require.Equal(t, []string{concertevents.ConcertUpdated}, types(p))
			got := p[0].Data.(concertevents.ConcertUpdatedV1)
			got.State = nil
			require.Equal(t, *tt.want, got)
		})
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name      string
		cancelled bool
		started   bool
		reason    string
		wantErr   error
	}{
		{name: "valid", reason: " flood "},
		{name: "after start", started: true, reason: "storm"},
		{name: "500 characters", reason: strings.Repeat("r", 500)},
		{name: "blank", reason: "  ", wantErr: domain.ErrInvalid},
		{name: "too long", reason: strings.Repeat("r", 501), wantErr: domain.ErrInvalid},
		{name: "twice", cancelled: true, reason: "again", wantErr: domain.ErrCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := scheduled(t, 10)
			if tt.cancelled {
				require.NoError(t, c.Cancel("flood"))
				c.MarkCommitted()
			}
			err := c.Cancel(tt.reason)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Empty(t, c.Pending())
				return
			}
			require.NoError(t, err)
			p := c.Pending()
			require.Equal(t, []string{concertevents.ConcertCancelled}, types(p))
			require.Equal(t, strings.TrimSpace(tt.reason), p[0].Data.(concertevents.ConcertCancelledV1).Reason)
			// Nothing but reads afterwards.
			c.MarkCommitted()
			require.ErrorIs(t, c.SellTickets(1, now), domain.ErrCancelled)
			require.ErrorIs(t, c.Reschedule(starts.Add(time.Hour), now), domain.ErrCancelled)
			require.ErrorIs(t, c.Update(strp("X"), nil, nil), domain.ErrCancelled)
			require.ErrorIs(t, c.Cancel("again"), domain.ErrCancelled)
			require.Empty(t, c.Pending())
		})
	}
}

func TestRehydrate(t *testing.T) {
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return b
	}
	history := []domain.Recorded{
		{Version: 1, EventType: concertevents.ConcertScheduled, Data: raw(concertevents.ConcertScheduledV1{Artist: "A", Venue: "V", StartsAt: starts, Capacity: 5, PriceCents: 100})},
		{Version: 2, EventType: concertevents.ConcertUpdated, Data: raw(concertevents.ConcertUpdatedV1{Artist: strp("B")})},
		{Version: 3, EventType: concertevents.TicketsSold, Data: raw(concertevents.TicketsSoldV1{Quantity: 5, TicketsSold: 5, TicketsAvailable: 0})},
		{Version: 4, EventType: concertevents.ConcertSoldOut, Data: raw(concertevents.ConcertSoldOutV1{Capacity: 5})},
	}
	c, err := domain.Rehydrate("c1", history)
	require.NoError(t, err)
	require.Equal(t, domain.State{ID: "c1", Version: 4, Artist: "B", Venue: "V", StartsAt: starts, Capacity: 5, PriceCents: 100, TicketsSold: 5}, c.State())
	require.Equal(t, int64(4), c.CommittedVersion())
	require.ErrorIs(t, c.SellTickets(1, now), domain.ErrSoldOut)

	bad := []struct {
		name    string
		history []domain.Recorded
	}{
		{name: "empty"},
		{name: "gap", history: []domain.Recorded{history[0], history[2]}},
		{name: "not starting with scheduled", history: []domain.Recorded{{Version: 1, EventType: concertevents.TicketsSold, Data: raw(concertevents.TicketsSoldV1{})}}},
		{name: "unknown type", history: []domain.Recorded{history[0], {Version: 2, EventType: "Nope", Data: json.RawMessage(`{}`)}}},
		{name: "bad data", history: []domain.Recorded{{Version: 1, EventType: concertevents.ConcertScheduled, Data: json.RawMessage(`{"capacity":"x"}`)}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := domain.Rehydrate("c1", tt.history)
			require.Error(t, err)
		})
	}
}

func TestApplyStoredCatchesUp(t *testing.T) {
	c := scheduled(t, 10)
	clone := c.Clone()
	require.NoError(t, clone.SellTickets(3, now))
	require.Equal(t, 0, c.State().TicketsSold, "a clone never changes its original")
	data, err := json.Marshal(concertevents.TicketsSoldV1{Quantity: 3, TicketsSold: 3, TicketsAvailable: 7})
	require.NoError(t, err)
	require.NoError(t, c.ApplyStored([]domain.Recorded{{Version: 2, EventType: concertevents.TicketsSold, Data: data}}))
	require.Equal(t, 3, c.State().TicketsSold)
	require.Error(t, clone.ApplyStored(nil), "pending events block catching up")
}

// TestEveryEventCarriesTheStateItLeaves: each recorded event carries the concert's
// state right after it (consumers apply it out of order with nothing else), also for
// both events of the sale that sells out, and a history refolded from its stored
// events ends in the state its last event carries.
func TestEveryEventCarriesTheStateItLeaves(t *testing.T) {
	c, err := domain.Schedule("c1", "A", "V", starts, 5, 100, now)
	require.NoError(t, err)
	require.NoError(t, c.Update(strp("B"), nil, intp(250)))
	require.NoError(t, c.Reschedule(starts.Add(time.Hour), now))
	require.NoError(t, c.SellTickets(2, now))
	require.NoError(t, c.SellTickets(3, now))
	require.NoError(t, c.Cancel("flood"))
	want := []concertevents.ConcertStateV1{
		{Artist: "A", Venue: "V", StartsAt: starts, Capacity: 5, PriceCents: 100},
		{Artist: "B", Venue: "V", StartsAt: starts, Capacity: 5, PriceCents: 250},
		{Artist: "B", Venue: "V", StartsAt: starts.Add(time.Hour), Capacity: 5, PriceCents: 250},
		{Artist: "B", Venue: "V", StartsAt: starts.Add(time.Hour), Capacity: 5, PriceCents: 250, TicketsSold: 2},
		{Artist: "B", Venue: "V", StartsAt: starts.Add(time.Hour), Capacity: 5, PriceCents: 250, TicketsSold: 5},
		{Artist: "B", Venue: "V", StartsAt: starts.Add(time.Hour), Capacity: 5, PriceCents: 250, TicketsSold: 5},
		{Artist: "B", Venue: "V", StartsAt: starts.Add(time.Hour), Capacity: 5, PriceCents: 250, TicketsSold: 5, Cancelled: true},
	}
	var history []domain.Recorded
	for i, e := range c.Pending() {
		data, err := json.Marshal(e.Data)
		require.NoError(t, err)
		var carried struct {
			State *concertevents.ConcertStateV1 `json:"state"`
		}
		require.NoError(t, json.Unmarshal(data, &carried))
		require.NotNil(t, carried.State, "event %d (%s) carries no state", e.Version, e.EventType)
		require.Equal(t, want[i], *carried.State, "state carried by event %d (%s)", e.Version, e.EventType)
		history = append(history, domain.Recorded{Version: e.Version, EventType: e.EventType, Data: data})
	}
	refolded, err := domain.Rehydrate("c1", history)
	require.NoError(t, err)
	last := want[len(want)-1]
	got := refolded.State()
	require.Equal(t, last, concertevents.ConcertStateV1{Artist: got.Artist, Venue: got.Venue, StartsAt: got.StartsAt,
		Capacity: got.Capacity, PriceCents: got.PriceCents, TicketsSold: got.TicketsSold, Cancelled: got.Cancelled},
		"refolded state, want the last event's")
}
