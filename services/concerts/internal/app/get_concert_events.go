package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/concertsys/platform/eventlog"
)

// Paging limits of GetConcertEvents.
const (
	DefaultEventsLimit = 100
	MaxEventsLimit     = eventlog.MaxPageLimit
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

// GetConcertEvents reads a concert's history from the log, one page at a time: a
// request costs about Limit reads, however long the history is.
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
	limit = min(limit, MaxEventsLimit)
	evs, more, err := g.log.LoadPage(ctx, in.ID, in.After, limit)
	if err == nil && len(evs) == 0 {
		if in.After <= 0 {
			err = eventlog.ErrNotFound
		} else {
			// An empty page is only an answer for a concert that exists: one read says so.
			var first []eventlog.Event
			if first, _, err = g.log.LoadPage(ctx, in.ID, 0, 1); err == nil && len(first) == 0 {
				err = eventlog.ErrNotFound
			}
		}
	}
	if errors.Is(err, eventlog.ErrNotFound) {
		return ConcertEvents{}, fmt.Errorf("concert %s: %w", in.ID, ErrNotFound)
	}
	if err != nil {
		return ConcertEvents{}, fmt.Errorf("load events of concert %s: %w", in.ID, err)
	}
	return ConcertEvents{Events: evs, More: more}, nil
}
