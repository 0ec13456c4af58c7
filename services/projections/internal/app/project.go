package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/concertsys/services/projections/internal/domain"
)

// maxConflictRetries bounds reload-and-retry rounds when concurrent invocations keep
// winning the conditional write; beyond it the bus redelivers.
const maxConflictRetries = 16

// ProjectConcertEvent applies concert events to their views.
type ProjectConcertEvent struct {
	views     ViewStore
	publisher *ViewPublisher
	logger    *slog.Logger
}

// NewProjectConcertEvent wires the consumer use case.
func NewProjectConcertEvent(views ViewStore, publisher *ViewPublisher, logger *slog.Logger) *ProjectConcertEvent {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ProjectConcertEvent{views: views, publisher: publisher, logger: logger}
}

// Handle applies e (at-least-once, in any order) and publishes the view change.
// A duplicate or older event is a no-op apart from publishing a change that is still
// owed; an event carrying the concert's state moves the view straight to it, however
// far ahead. Only an event without state (published before events carried it) that is
// ahead of the view fails, to wait for the bus's redelivery. Every error is safe to
// retry.
func (p *ProjectConcertEvent) Handle(ctx context.Context, e domain.Event) error {
	concertID := e.Meta.AggregateID
	for attempt := 1; ; attempt++ {
		rec, err := p.views.Get(ctx, concertID)
		found := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("project %s v%d: %w", concertID, e.Meta.AggregateVersion, err)
		}
		view := domain.New(concertID)
		if found {
			view = domain.Restore(rec.View, rec.LastEventID, rec.LastCorrelationID)
		}
		changed, err := p.advance(ctx, view, e)
		if err != nil {
			return fmt.Errorf("project %s v%d: %w", concertID, e.Meta.AggregateVersion, err)
		}
		if changed {
			next := recordOf(view)
			err := p.views.Put(ctx, next, rec.View.Version)
			if errors.Is(err, ErrConflict) && attempt < maxConflictRetries {
				continue
			}
			if err != nil {
				return fmt.Errorf("project %s v%d: %w", concertID, e.Meta.AggregateVersion, err)
			}
			next.PublishedVersion = rec.PublishedVersion
			rec, found = next, true
		}
		if !found {
			return fmt.Errorf("project %s v%d: no view and nothing applied", concertID, e.Meta.AggregateVersion)
		}
		if err := p.publisher.PublishOwed(ctx, rec); err != nil {
			return fmt.Errorf("project %s v%d: %w", concertID, e.Meta.AggregateVersion, err)
		}
		return nil
	}
}

// advance applies e to view and reports whether the view changed.
func (p *ProjectConcertEvent) advance(ctx context.Context, view *domain.View, e domain.Event) (bool, error) {
	err := view.Apply(e)
	var gap *domain.GapError
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, domain.ErrDuplicate):
		return false, nil
	case errors.As(err, &gap):
		p.logger.WarnContext(ctx, "event without state ahead of the view, waiting for redelivery", "concertId", view.ConcertID(),
			"viewVersion", view.Version(), "eventVersion", e.Meta.AggregateVersion)
		return false, fmt.Errorf("waiting for redelivery: %w", err)
	}
	return false, err
}

func recordOf(v *domain.View) Record {
	eventID, correlationID := v.LastEvent()
	return Record{View: v.State(), LastEventID: eventID, LastCorrelationID: correlationID}
}
