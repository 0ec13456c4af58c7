package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"

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

	mu    sync.Mutex
	lanes map[string][]*pendingEvent // concert id → events waiting for its lane's leader
}

// pendingEvent is one Handle call waiting in its concert's lane.
type pendingEvent struct {
	ctx  context.Context
	e    domain.Event
	done chan laneTurn
}

// laneTurn tells a waiting Handle call its outcome, or that it leads the lane next.
type laneTurn struct {
	err  error
	lead bool
}

// NewProjectConcertEvent wires the consumer use case.
func NewProjectConcertEvent(views ViewStore, publisher *ViewPublisher, logger *slog.Logger) *ProjectConcertEvent {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ProjectConcertEvent{views: views, publisher: publisher, logger: logger, lanes: map[string][]*pendingEvent{}}
}

// Handle applies e (at-least-once, in any order) and publishes the view change.
// A duplicate or older event is a no-op apart from publishing a change that is still
// owed; an event carrying the concert's state moves the view straight to it, however
// far ahead. Only an event without state (published before events carried it) that is
// ahead of the view fails, to wait for the bus's redelivery. Every error is safe to
// retry, and is e's alone.
//
// Concurrent calls for one concert (the records of one SQS batch run concurrently,
// platform/queueconsumer) share a lane: the first becomes its leader and applies, in
// version order, every event that joined meanwhile to one read and one conditional
// write, then publishes the resulting view once; the others wait for their own
// outcome. So a batch of one hot concert costs a few commits and publishes, not one
// per event, and the lane never races itself into version conflicts.
func (p *ProjectConcertEvent) Handle(ctx context.Context, e domain.Event) error {
	id := e.Meta.AggregateID
	me := &pendingEvent{ctx: ctx, e: e, done: make(chan laneTurn, 1)}
	p.mu.Lock()
	queue, busy := p.lanes[id]
	p.lanes[id] = append(queue, me)
	p.mu.Unlock()
	if busy {
		turn := <-me.done
		if !turn.lead {
			return turn.err
		}
	} else {
		// Let the batch's other records of this concert, started with this one, join
		// the first group.
		runtime.Gosched()
	}
	// Lead one round: the group holds this call's event. Then hand the lane to the
	// first call that queued meanwhile, so no call leads for others forever.
	p.mu.Lock()
	group := p.lanes[id]
	p.lanes[id] = nil
	p.mu.Unlock()
	p.handleGroup(group)
	p.mu.Lock()
	if next := p.lanes[id]; len(next) > 0 {
		next[0].done <- laneTurn{lead: true}
	} else {
		delete(p.lanes, id)
	}
	p.mu.Unlock()
	return (<-me.done).err
}

// handleGroup applies the group's events of one concert in version order to one
// read and one conditional write, publishes what is owed, and tells each event its
// outcome (the leader's too, in its channel).
func (p *ProjectConcertEvent) handleGroup(group []*pendingEvent) {
	slices.SortStableFunc(group, func(a, b *pendingEvent) int {
		return cmp.Compare(a.e.Meta.AggregateVersion, b.e.Meta.AggregateVersion)
	})
	ctx := group[0].ctx
	concertID := group[0].e.Meta.AggregateID
	results := make([]error, len(group))
	fail := func(err error) {
		for i, pe := range group {
			if results[i] == nil {
				results[i] = fmt.Errorf("project %s v%d: %w", concertID, pe.e.Meta.AggregateVersion, err)
			}
		}
	}
	defer func() {
		for i, pe := range group {
			pe.done <- laneTurn{err: results[i]}
		}
	}()
	for attempt := 1; ; attempt++ {
		rec, err := p.views.Get(ctx, concertID)
		found := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			fail(err)
			return
		}
		view := domain.New(concertID)
		if found {
			view = domain.Restore(rec.View, rec.LastEventID, rec.LastCorrelationID)
		}
		clear(results)
		var last *pendingEvent // the event that gave the view its version
		for i, pe := range group {
			changed, err := p.advance(pe.ctx, view, pe.e)
			if err != nil {
				results[i] = fmt.Errorf("project %s v%d: %w", concertID, pe.e.Meta.AggregateVersion, err)
			}
			if changed {
				last = pe
			}
		}
		if last != nil {
			next := recordOf(view)
			err := p.views.Put(ctx, next, rec.View.Version)
			if errors.Is(err, ErrConflict) && attempt < maxConflictRetries {
				continue
			}
			if err != nil {
				fail(err)
				return
			}
			next.PublishedVersion = rec.PublishedVersion
			rec, found = next, true
		}
		if !found {
			fail(errors.New("no view and nothing applied"))
			return
		}
		// The ConcertViewUpdated continues the trace of the delivery that produced
		// its version (or, when nothing changed, of the first delivery).
		pubCtx := ctx
		if last != nil {
			pubCtx = last.ctx
		}
		if err := p.publisher.PublishOwed(pubCtx, rec); err != nil {
			fail(err)
		}
		return
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
