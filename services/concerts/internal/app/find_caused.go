package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/concertsys/platform/eventlog"
)

// FindCausedInput asks for the last event of concert ID caused by CausationID and
// created at or after Since (a key reused after its retention must not match old
// events).
type FindCausedInput struct {
	ID          string
	CausationID string
	Since       time.Time
}

// Caused is the answer of FindCaused: Found says such events exist, Version is the
// last one's.
type Caused struct {
	Found   bool
	Version int64
}

// FindCaused finds what a request already wrote, so that a request whose process
// died after appending is answered from the log instead of running again.
type FindCaused struct {
	log eventlog.Log
}

// NewFindCaused builds the query.
func NewFindCaused(log eventlog.Log) *FindCaused { return &FindCaused{log: log} }

// Handle runs the query.
func (f *FindCaused) Handle(ctx context.Context, in FindCausedInput) (Caused, error) {
	evs, err := f.log.Load(ctx, in.ID)
	if errors.Is(err, eventlog.ErrNotFound) {
		return Caused{}, nil
	}
	if err != nil {
		return Caused{}, fmt.Errorf("look for events caused by %s in concert %s: %w", in.CausationID, in.ID, err)
	}
	var out Caused
	for _, e := range evs {
		if e.CausationID == in.CausationID && !e.OccurredAt.Before(in.Since) {
			out = Caused{Found: true, Version: e.Version}
		}
	}
	return out, nil
}
