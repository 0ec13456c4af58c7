// Package domain is the concert read model: the view of one concert and the rules
// that fold concert events into it, strictly in version order.
package domain

import (
	"bytes"
	"fmt"

	"github.com/concertsys/services/projections/viewevents"
)

// View is the read model of one concert at one version of its event history.
type View struct {
	state             viewevents.ConcertViewV1
	lastEventID       string
	lastCorrelationID string
}

// New is the empty view of a concert no event has been applied to (version 0).
func New(concertID string) *View {
	return &View{state: viewevents.ConcertViewV1{ID: concertID}}
}

// Restore rebuilds a view from its stored state and the ids of the last event applied.
func Restore(state viewevents.ConcertViewV1, lastEventID, lastCorrelationID string) *View {
	return &View{state: state, lastEventID: lastEventID, lastCorrelationID: lastCorrelationID}
}

// Version is the aggregate version of the last event applied (0 for none).
func (v *View) Version() int64 { return v.state.Version }

// ConcertID is the concert id.
func (v *View) ConcertID() string { return v.state.ID }

// State is the view as the query API returns it.
func (v *View) State() viewevents.ConcertViewV1 { return v.state }

// LastEvent returns the event id and correlation id of the last applied event, which
// ConcertViewUpdated carries as causation and correlation.
func (v *View) LastEvent() (eventID, correlationID string) {
	return v.lastEventID, v.lastCorrelationID
}

// Apply folds an event into the view. An event that carries the concert's state
// (data.state) sets the view to that state whatever the view's version below it, so
// events apply in any order and a lost one is covered by any later one; an event
// without it (published before events carried their state) applies only as the next
// version. An event at or below the view's version is ErrDuplicate, one without state
// beyond the next version a *GapError, an undecodable or impossible event
// ErrInvalidEvent; in every error case the view is unchanged.
func (v *View) Apply(e Event) error {
	if err := e.validateMeta(); err != nil {
		return err
	}
	m := e.Meta
	if m.AggregateID != v.state.ID {
		return fmt.Errorf("event of concert %s applied to view of %s: %w", m.AggregateID, v.state.ID, ErrInvalidEvent)
	}
	if m.AggregateVersion <= v.state.Version {
		return fmt.Errorf("concert %s v%d (view at v%d): %w", m.AggregateID, m.AggregateVersion, v.state.Version, ErrDuplicate)
	}
	if (m.AggregateVersion == 1) != (m.EventType == ConcertScheduled) {
		return fmt.Errorf("concert %s: %s at version %d; a history starts with exactly one %s: %w",
			m.AggregateID, m.EventType, m.AggregateVersion, ConcertScheduled, ErrInvalidEvent)
	}
	if known(m.EventType) && m.SchemaVersion != SupportedSchemaVersion {
		return fmt.Errorf("%s %s v%d: schema version %d, this consumer reads %d: %w",
			m.EventType, m.AggregateID, m.AggregateVersion, m.SchemaVersion, SupportedSchemaVersion, ErrInvalidEvent)
	}
	next := v.state
	carried, err := carriedState(e)
	switch {
	case err != nil:
		return err
	case carried != nil:
		next = viewOf(v.state.ID, *carried)
	case m.AggregateVersion > v.state.Version+1:
		return &GapError{ConcertID: m.AggregateID, Have: v.state.Version, Got: m.AggregateVersion}
	default:
		if err := applyData(&next, e); err != nil {
			return err
		}
	}
	if next.Capacity < 1 || next.PriceCents < 0 || next.TicketsSold < 0 || next.TicketsAvailable < 0 {
		return fmt.Errorf("%s %s v%d: capacity %d, price %d, sold %d, available %d out of range: %w",
			m.EventType, m.AggregateID, m.AggregateVersion, next.Capacity, next.PriceCents, next.TicketsSold, next.TicketsAvailable, ErrInvalidEvent)
	}
	next.Version = m.AggregateVersion
	next.UpdatedAt = Timestamp(m.OccurredAt)
	v.state = next
	v.lastEventID, v.lastCorrelationID = m.EventID, m.CorrelationID
	return nil
}

// carriedState decodes the event's data.state; nil when the event carries none.
func carriedState(e Event) (*stateV1, error) {
	if !bytes.Contains(e.Data, []byte(`"state"`)) {
		return nil, nil // cheap test first: most decoding cost is in the data
	}
	var c carriedV1
	if err := decode(e, &c); err != nil {
		return nil, err
	}
	if c.State == nil {
		return nil, nil
	}
	s := c.State
	if err := require(e, field{"state.artist", s.Artist != nil}, field{"state.venue", s.Venue != nil},
		field{"state.startsAt", s.StartsAt != nil}, field{"state.capacity", s.Capacity != nil},
		field{"state.priceCents", s.PriceCents != nil}, field{"state.ticketsSold", s.TicketsSold != nil},
		field{"state.cancelled", s.Cancelled != nil}); err != nil {
		return nil, err
	}
	return s, nil
}

// viewOf is the view of a concert in state s. Status and tickets available derive
// from it exactly as the in-order fold of the events derives them (applyData).
func viewOf(id string, s stateV1) viewevents.ConcertViewV1 {
	v := viewevents.ConcertViewV1{
		ID: id, Artist: *s.Artist, Venue: *s.Venue, StartsAt: s.StartsAt.UTC(), Capacity: *s.Capacity,
		PriceCents: *s.PriceCents, TicketsSold: *s.TicketsSold, TicketsAvailable: *s.Capacity - *s.TicketsSold,
		Status: viewevents.StatusScheduled,
	}
	switch {
	case *s.Cancelled:
		v.Status = viewevents.StatusCancelled
	case v.TicketsAvailable == 0:
		v.Status = viewevents.StatusSoldOut
	}
	return v
}

// applyData folds the data of an event without state into the view.
func applyData(s *viewevents.ConcertViewV1, e Event) error {
	switch e.Meta.EventType {
	case ConcertScheduled:
		var d scheduledV1
		if err := decode(e, &d); err != nil {
			return err
		}
		if err := require(e, field{"artist", d.Artist != nil}, field{"venue", d.Venue != nil},
			field{"startsAt", d.StartsAt != nil}, field{"capacity", d.Capacity != nil}, field{"priceCents", d.PriceCents != nil}); err != nil {
			return err
		}
		*s = viewevents.ConcertViewV1{
			ID: s.ID, Artist: *d.Artist, Venue: *d.Venue, StartsAt: d.StartsAt.UTC(),
			Capacity: *d.Capacity, PriceCents: *d.PriceCents,
			TicketsSold: 0, TicketsAvailable: *d.Capacity, Status: viewevents.StatusScheduled,
		}
	case ConcertUpdated:
		var d updatedV1
		if err := decode(e, &d); err != nil {
			return err
		}
		if d.Artist != nil {
			s.Artist = *d.Artist
		}
		if d.Venue != nil {
			s.Venue = *d.Venue
		}
		if d.PriceCents != nil {
			s.PriceCents = *d.PriceCents
		}
	case ConcertRescheduled:
		var d rescheduledV1
		if err := decode(e, &d); err != nil {
			return err
		}
		if err := require(e, field{"startsAt", d.StartsAt != nil}); err != nil {
			return err
		}
		s.StartsAt = d.StartsAt.UTC()
	case TicketsSold:
		var d ticketsSoldV1
		if err := decode(e, &d); err != nil {
			return err
		}
		if err := require(e, field{"quantity", d.Quantity != nil}, field{"ticketsSold", d.TicketsSold != nil},
			field{"ticketsAvailable", d.TicketsAvailable != nil}); err != nil {
			return err
		}
		// The event carries the totals after the sale, so the view never sums.
		s.TicketsSold, s.TicketsAvailable = *d.TicketsSold, *d.TicketsAvailable
		if s.TicketsAvailable == 0 && s.Status == viewevents.StatusScheduled {
			// The last ticket sold sells the concert out: its ConcertSoldOut (the next
			// version, same append) only confirms it, and a view from event-carried
			// state says so at this version too.
			s.Status = viewevents.StatusSoldOut
		}
	case ConcertSoldOut:
		var d soldOutV1
		if err := decode(e, &d); err != nil {
			return err
		}
		if err := require(e, field{"capacity", d.Capacity != nil}); err != nil {
			return err
		}
		s.Status, s.TicketsAvailable = viewevents.StatusSoldOut, 0
	case ConcertCancelled:
		var d cancelledV1
		if err := decode(e, &d); err != nil {
			return err
		}
		if err := require(e, field{"reason", d.Reason != nil}); err != nil {
			return err
		}
		s.Status = viewevents.StatusCancelled
	default:
		// A type this consumer does not know (added later by the producer) still
		// takes a version: advancing past it keeps the view from blocking forever.
	}
	return nil
}

func known(eventType string) bool {
	for _, t := range EventTypes() {
		if t == eventType {
			return true
		}
	}
	return false
}
