package app

import (
	"context"
	"time"

	"github.com/concertsys/services/concerts/internal/domain"
)

// RescheduleConcert moves a concert's start.
type RescheduleConcert struct {
	ID       string
	StartsAt time.Time
}

// RescheduleConcert records ConcertRescheduled.
func (a *App) RescheduleConcert(ctx context.Context, cmd RescheduleConcert, meta Meta) (Result, error) {
	return a.change(ctx, cmd.ID, meta, func(c *domain.Concert, now time.Time) error {
		return c.Reschedule(cmd.StartsAt, now)
	})
}
