package app

import (
	"context"
	"time"

	"github.com/concertsys/services/concerts/internal/domain"
)

// UpdateConcert changes any of artist, venue and price (nil = unchanged).
type UpdateConcert struct {
	ID         string
	Artist     *string
	Venue      *string
	PriceCents *int64
}

// UpdateConcert records ConcertUpdated with the fields that changed.
func (a *App) UpdateConcert(ctx context.Context, cmd UpdateConcert, meta Meta) (Result, error) {
	return a.change(ctx, cmd.ID, meta, func(c *domain.Concert, _ time.Time) error {
		return c.Update(cmd.Artist, cmd.Venue, cmd.PriceCents)
	})
}
