package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/concertsys/platform/eventlog"
)

// Paging limits of GetConcertEvents.
const (
	DefaultEventsLimit = 1000
	MaxEventsLimit     = 1000
)

// GetConcertEvents reads a concert's history from the log: the events with a version
// above After, at most Limit of them (0 means DefaultEventsLimit).
type GetConcertEvents struct {
	ID    string
	After int64
	Limit int
}

// ConcertEvents is one page of history; More says events after the last one exist.
type ConcertEvents struct {
	Events []eventlog.Event
	More   bool
}

// GetConcertEvents answers the history of a concert; ErrNotFound if it has none.
func (a *App) GetConcertEvents(ctx context.Context, q GetConcertEvents) (ConcertEvents, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultEventsLimit
	}
	var (
		evs []eventlog.Event
		err error
	)
	if q.After <= 0 {
		evs, err = a.cfg.Log.Load(ctx, q.ID)
	} else {
		evs, err = a.cfg.Log.LoadAfter(ctx, q.ID, q.After)
		if err == nil && len(evs) == 0 {
			// An empty page is only an answer for a concert that exists.
			_, err = a.cfg.Log.Load(ctx, q.ID)
		}
	}
	if errors.Is(err, eventlog.ErrNotFound) {
		return ConcertEvents{}, fmt.Errorf("concert %s: %w", q.ID, ErrNotFound)
	}
	if err != nil {
		return ConcertEvents{}, fmt.Errorf("load events of concert %s: %w", q.ID, err)
	}
	if len(evs) > limit {
		return ConcertEvents{Events: evs[:limit], More: true}, nil
	}
	return ConcertEvents{Events: evs}, nil
}
