// Package domain is the concert read model: the view of one concert and the rules
// that fold concert events into it, strictly in version order.
package domain

import (
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

// Apply folds the next event into the view. An event at or below the view's version
// is ErrDuplicate, one beyond the next version a *GapError, and an undecodable or
// impossible event ErrInvalidEvent; in every error case the view is unchanged.
func (v *View) Apply(e Event) error {
	if err := e.validateMeta(); err != nil {
		return err
	}
	m := e.Meta
	if m.AggregateID != v.state.ID {
		return fmt.Errorf("event of concert %s applied to view of %s: %w", m.AggregateID, v.state.ID, ErrInvalidEvent)
	}
	switch {
	case m.AggregateVersion <= v.state.Version:
		return fmt.Errorf("concert %s v%d (view at v%d): %w", m.AggregateID, m.AggregateVersion, v.state.Version, ErrDuplicate)
	case m.AggregateVersion > v.state.Version+1:
		return &GapError{ConcertID: m.AggregateID, Have: v.state.Version, Got: m.AggregateVersion}
	}
	if (m.AggregateVersion == 1) != (m.EventType == ConcertScheduled) {
		return fmt.Errorf("concert %s: %s at version %d; a history starts with exactly one %s: %w",
			m.AggregateID, m.EventType, m.AggregateVersion, ConcertScheduled, ErrInvalidEvent)
	}
	next := v.state
	if err := applyData(&next, e); err != nil {
		return err
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

func applyData(s *viewevents.ConcertViewV1, e Event) error {
	if known(e.Meta.EventType) && e.Meta.SchemaVersion != SupportedSchemaVersion {
		return fmt.Errorf("%s %s v%d: schema version %d, this consumer reads %d: %w",
			e.Meta.EventType, e.Meta.AggregateID, e.Meta.AggregateVersion, e.Meta.SchemaVersion, SupportedSchemaVersion, ErrInvalidEvent)
	}
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
