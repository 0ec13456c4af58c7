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

// GetConcertEventsInput asks for a concert's history: the events with a version above
// After, at most Limit of them (0 means DefaultEventsLimit).
type GetConcertEventsInput struct {
	ID    string
	After int64
	Limit int
}

// ConcertEvents is one page of history; More says events after the last one exist.
type ConcertEvents struct {
	Events []eventlog.Event
	More   bool
}

// GetConcertEvents reads a concert's history from the log.
type GetConcertEvents struct {
	log eventlog.Log
}

// NewGetConcertEvents builds the query.
func NewGetConcertEvents(log eventlog.Log) *GetConcertEvents { return &GetConcertEvents{log: log} }

// Handle answers one page of history; ErrNotFound if the concert has none.
func (g *GetConcertEvents) Handle(ctx context.Context, in GetConcertEventsInput) (ConcertEvents, error) {
	limit := in.Limit
	if limit <= 0 {
		limit = DefaultEventsLimit
	}
	var (
		evs []eventlog.Event
		err error
	)
	if in.After <= 0 {
		evs, err = g.log.Load(ctx, in.ID)
	} else {
		evs, err = g.log.LoadAfter(ctx, in.ID, in.After)
		if err == nil && len(evs) == 0 {
			// An empty page is only an answer for a concert that exists.
			_, err = g.log.Load(ctx, in.ID)
		}
	}
	if errors.Is(err, eventlog.ErrNotFound) {
		return ConcertEvents{}, fmt.Errorf("concert %s: %w", in.ID, ErrNotFound)
	}
	if err != nil {
		return ConcertEvents{}, fmt.Errorf("load events of concert %s: %w", in.ID, err)
	}
	if len(evs) > limit {
		return ConcertEvents{Events: evs[:limit], More: true}, nil
	}
	return ConcertEvents{Events: evs}, nil
}
