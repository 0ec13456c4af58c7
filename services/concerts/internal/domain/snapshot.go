package domain

import (
	"errors"
	"fmt"
	"time"
)

// StateVersion is the schema version of Snapshot. Change it whenever Snapshot's fields
// or their meaning change (or the aggregate gains state that Snapshot does not carry):
// snapshots stored under another StateVersion are then ignored and the concert is
// folded from its events, so an old snapshot can never produce a wrong state.
const StateVersion = 1

// Snapshot is the whole committed state of a concert at Version, in a form that can be
// stored (as JSON) and turned back into the aggregate with FromSnapshot.
type Snapshot struct {
	ID          string    `json:"id"`
	Version     int64     `json:"version"`
	Artist      string    `json:"artist"`
	Venue       string    `json:"venue"`
	StartsAt    time.Time `json:"startsAt"`
	Capacity    int       `json:"capacity"`
	PriceCents  int64     `json:"priceCents"`
	TicketsSold int       `json:"ticketsSold"`
	Cancelled   bool      `json:"cancelled"`
}

// ErrPendingEvents: a snapshot is only taken of committed state.
var ErrPendingEvents = errors.New("concert has pending events")

// Snapshot returns the concert's committed state; it fails while events are pending.
func (c *Concert) Snapshot() (Snapshot, error) {
	if len(c.pending) > 0 {
		return Snapshot{}, fmt.Errorf("snapshot of concert %s: %w", c.id, ErrPendingEvents)
	}
	return Snapshot{
		ID: c.id, Version: c.committed, Artist: c.artist, Venue: c.venue, StartsAt: c.startsAt,
		Capacity: c.capacity, PriceCents: c.priceCents, TicketsSold: c.sold, Cancelled: c.cancelled,
	}, nil
}

// FromSnapshot rebuilds a committed concert from s; events stored after s.Version are
// then folded in with ApplyStored. It refuses a snapshot that no history could have
// produced.
func FromSnapshot(s Snapshot) (*Concert, error) {
	switch {
	case s.ID == "" || s.Version < 1:
		return nil, fmt.Errorf("snapshot of concert %q at version %d: invalid", s.ID, s.Version)
	case s.Capacity < MinCapacity || s.Capacity > MaxCapacity || s.TicketsSold < 0 || s.TicketsSold > s.Capacity:
		return nil, fmt.Errorf("snapshot of concert %s: %d of %d sold: invalid", s.ID, s.TicketsSold, s.Capacity)
	case s.PriceCents < 0 || s.PriceCents > MaxPriceCents || s.Artist == "" || s.Venue == "":
		return nil, fmt.Errorf("snapshot of concert %s: invalid values", s.ID)
	}
	return &Concert{
		id: s.ID, version: s.Version, committed: s.Version, artist: s.Artist, venue: s.Venue,
		startsAt: s.StartsAt.UTC(), capacity: s.Capacity, priceCents: s.PriceCents, sold: s.TicketsSold,
		cancelled: s.Cancelled,
	}, nil
}
