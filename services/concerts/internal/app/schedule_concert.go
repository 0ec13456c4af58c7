package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/concertsys/platform/eventlog"

	"github.com/concertsys/services/concerts/internal/domain"
)

// ScheduleConcert creates a concert under ID (chosen by the caller so that a retried
// idempotent request reuses it).
type ScheduleConcert struct {
	ID         string
	Artist     string
	Venue      string
	StartsAt   time.Time
	Capacity   int
	PriceCents int64
}

// ScheduleConcert records ConcertScheduled as version 1.
func (a *App) ScheduleConcert(ctx context.Context, cmd ScheduleConcert, meta Meta) (Result, error) {
	if meta.IfMatch != nil {
		// No version of a concert that does not exist yet can match.
		return Result{}, &PreconditionError{Expected: *meta.IfMatch, Current: 0}
	}
	now := a.cfg.Now()
	c, err := domain.Schedule(cmd.ID, cmd.Artist, cmd.Venue, cmd.StartsAt, cmd.Capacity, cmd.PriceCents, now)
	if err != nil {
		return Result{}, err
	}
	if err := a.append(ctx, c, meta, now); err != nil {
		if errors.Is(err, eventlog.ErrConflict) {
			return Result{}, fmt.Errorf("concert %s: %w", cmd.ID, ErrAlreadyExists)
		}
		return Result{}, err
	}
	return Result{ID: c.ID(), Version: c.Version()}, nil
}
