package app

import (
	"context"
	"time"

	"github.com/concertsys/services/concerts/internal/domain"
)

// CancelConcert cancels a concert for good.
type CancelConcert struct {
	ID     string
	Reason string
}

// CancelConcert records ConcertCancelled.
func (a *App) CancelConcert(ctx context.Context, cmd CancelConcert, meta Meta) (Result, error) {
	return a.change(ctx, cmd.ID, meta, func(c *domain.Concert, _ time.Time) error {
		return c.Cancel(cmd.Reason)
	})
}
