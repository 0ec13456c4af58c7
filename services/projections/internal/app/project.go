package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/services/projections/internal/domain"
)

// EventLog is the read-only part of the concerts event log the projection uses to
// fill gaps: events that are late or were lost on the bus.
type EventLog interface {
	LoadAfter(ctx context.Context, aggregateID string, after int64) ([]eventlog.Event, error)
}

// maxConflictRetries bounds reload-and-retry rounds when concurrent invocations keep
// winning the conditional write; beyond it the bus redelivers.
const maxConflictRetries = 16

// ProjectConcertEvent applies concert events to their views.
type ProjectConcertEvent struct {
	views     ViewStore
	log       EventLog
	publisher *ViewPublisher
	logger    *slog.Logger
}

// NewProjectConcertEvent wires the consumer use case. log may be nil: then an event ahead of
// the next expected version fails and waits for the bus to redeliver it.
func NewProjectConcertEvent(views ViewStore, log EventLog, publisher *ViewPublisher, logger *slog.Logger) *ProjectConcertEvent {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ProjectConcertEvent{views: views, log: log, publisher: publisher, logger: logger}
}

// Handle applies e (at-least-once, in any order) and publishes the view change.
// A duplicate is a no-op apart from publishing a change that is still owed; an event
// ahead of the view pulls the missing events from the log and applies them in order.
// Every error is safe to retry.
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

// advance applies e to view, filling a gap from the log. It reports whether the
// view changed.
func (p *ProjectConcertEvent) advance(ctx context.Context, view *domain.View, e domain.Event) (bool, error) {
	err := view.Apply(e)
	var gap *domain.GapError
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, domain.ErrDuplicate):
		return false, nil
	case !errors.As(err, &gap):
		return false, err
	case p.log == nil:
		return false, fmt.Errorf("no event log to fill the gap, waiting for redelivery: %w", err)
	}
	from := view.Version()
	missing, err := p.log.LoadAfter(ctx, view.ConcertID(), from)
	if err != nil {
		return false, fmt.Errorf("fill gap after v%d from event log: %w", from, err)
	}
	target := e.Meta.AggregateVersion
	upTo, beyond := missing, []eventlog.Event(nil)
	for i, le := range missing {
		if le.Version > target {
			upTo, beyond = missing[:i], missing[i:]
			break
		}
	}
	if err := applyInOrder(view, upTo); err != nil {
		return false, err
	}
	if view.Version() == target-1 {
		// The log read did not return e itself yet (it raced the write); e is next.
		if err := view.Apply(e); err != nil {
			return false, err
		}
	}
	if view.Version() == target {
		// Catch up with what the log holds beyond e too; a bad event there is left
		// for its own delivery to report, it must not hold back this one.
		_ = applyInOrder(view, beyond)
	}
	if view.Version() < e.Meta.AggregateVersion {
		p.logger.WarnContext(ctx, "gap not fillable from event log yet", "concertId", view.ConcertID(),
			"viewVersion", view.Version(), "eventVersion", e.Meta.AggregateVersion)
		return false, fmt.Errorf("event log has v%d..v%d of %d events: %w", from+1, view.Version(), e.Meta.AggregateVersion, gap)
	}
	return true, nil
}

// applyInOrder applies consecutive log events to view; it stops at a gap in them.
func applyInOrder(view *domain.View, events []eventlog.Event) error {
	var gap *domain.GapError
	for _, le := range events {
		err := view.Apply(domain.FromLog(le))
		switch {
		case err == nil, errors.Is(err, domain.ErrDuplicate):
		case errors.As(err, &gap):
			return nil
		default:
			return err
		}
	}
	return nil
}

func recordOf(v *domain.View) Record {
	eventID, correlationID := v.LastEvent()
	return Record{View: v.State(), LastEventID: eventID, LastCorrelationID: correlationID}
}
