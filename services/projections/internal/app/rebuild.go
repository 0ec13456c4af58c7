package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/services/projections/internal/domain"
)

// RebuildStats says what a rebuild did.
type RebuildStats struct {
	Events   int `json:"events"`   // events read from the log
	Concerts int `json:"concerts"` // views computed
	Written  int `json:"written"`  // views stored
	Skipped  int `json:"skipped"`  // views left alone because the stored one was newer
}

// Rebuild is the rebuild-projections use case.
type Rebuild struct {
	scanner eventlog.Scanner
	log     EventLog
	views   ViewStore
}

// NewRebuild rebuilds views from what scanner walks; log (only read, may be nil)
// fills the gaps the scan leaves. A nil scanner makes every Handle fail.
func NewRebuild(scanner eventlog.Scanner, log EventLog, views ViewStore) *Rebuild {
	return &Rebuild{scanner: scanner, log: log, views: views}
}

// Handle recomputes every view from the event log and stores it unless the stored
// view is already newer, so it is safe while the live consumer keeps applying new
// events: a view only ever moves forward, and both paths fold the same events with
// the same rules, so they end in identical views. A concert whose history cannot be
// applied keeps the view up to the event before the bad one; its error is reported
// after every other concert was rebuilt.
func (r *Rebuild) Handle(ctx context.Context) (RebuildStats, error) {
	if r.scanner == nil {
		return RebuildStats{}, errors.New("no event log scanner configured")
	}
	scanner, log, views := r.scanner, r.log, r.views
	type fold struct {
		view    *domain.View
		pending []eventlog.Event // arrived ahead of their turn (the scanner orders per aggregate only loosely)
		err     error
	}
	var stats RebuildStats
	folds := map[string]*fold{}
	err := scanner.ForEach(ctx, func(le eventlog.Event) error {
		stats.Events++
		f := folds[le.AggregateID]
		if f == nil {
			f = &fold{view: domain.New(le.AggregateID)}
			folds[le.AggregateID] = f
		}
		if f.err != nil {
			return nil
		}
		var gap *domain.GapError
		switch err := f.view.Apply(domain.FromLog(le)); {
		case errors.As(err, &gap):
			f.pending = append(f.pending, le)
		case err != nil && !errors.Is(err, domain.ErrDuplicate):
			f.err = err
		}
		return nil
	})
	if err != nil {
		return stats, fmt.Errorf("rebuild: scan event log: %w", err)
	}
	ids := make([]string, 0, len(folds))
	for id := range folds {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var errs []error
	for _, id := range ids {
		f := folds[id]
		if f.err == nil && len(f.pending) > 0 {
			f.err = fillPending(ctx, f.view, f.pending, log)
		}
		if f.err != nil {
			errs = append(errs, f.err)
		}
		if f.view.Version() == 0 {
			continue
		}
		stats.Concerts++
		written, err := storeIfNewer(ctx, views, f.view)
		if err != nil {
			return stats, fmt.Errorf("rebuild: %w", err)
		}
		if written {
			stats.Written++
		} else {
			stats.Skipped++
		}
	}
	if len(errs) > 0 {
		return stats, fmt.Errorf("rebuild: %d concerts stopped at a bad event: %w", len(errs), errors.Join(errs...))
	}
	return stats, nil
}

// fillPending applies events that came ahead of their turn; what is still missing
// in between is read from the log.
func fillPending(ctx context.Context, view *domain.View, pending []eventlog.Event, log EventLog) error {
	slices.SortFunc(pending, func(a, b eventlog.Event) int { return int(a.Version - b.Version) })
	if err := applyInOrder(view, pending); err != nil {
		return err
	}
	last := pending[len(pending)-1].Version
	if view.Version() >= last {
		return nil
	}
	if log == nil {
		return fmt.Errorf("concert %s: events after v%d missing from the scan and no log to load them", view.ConcertID(), view.Version())
	}
	missing, err := log.LoadAfter(ctx, view.ConcertID(), view.Version())
	if err != nil {
		return fmt.Errorf("concert %s: load after v%d: %w", view.ConcertID(), view.Version(), err)
	}
	return applyInOrder(view, missing)
}

// storeIfNewer writes view unless the stored one is newer; an equal version is
// rewritten, so a rebuild after a fix of the apply rules takes effect.
func storeIfNewer(ctx context.Context, views ViewStore, view *domain.View) (bool, error) {
	for attempt := 1; ; attempt++ {
		var stored int64
		rec, err := views.Get(ctx, view.ConcertID())
		switch {
		case err == nil:
			stored = rec.View.Version
		case !errors.Is(err, ErrNotFound):
			return false, fmt.Errorf("store %s: %w", view.ConcertID(), err)
		}
		if stored > view.Version() {
			return false, nil
		}
		err = views.Put(ctx, recordOf(view), stored)
		if errors.Is(err, ErrConflict) && attempt < maxConflictRetries {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("store %s v%d: %w", view.ConcertID(), view.Version(), err)
		}
		return true, nil
	}
}
