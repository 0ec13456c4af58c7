package app

import (
	"context"

	"github.com/concertsys/services/concerts/internal/domain"
)

// UpdateConcertInput changes any of artist, venue and price (nil = unchanged).
type UpdateConcertInput struct {
	ID         string
	Artist     *string
	Venue      *string
	PriceCents *int64
	Meta       Meta
}

// UpdateConcert records ConcertUpdated with the fields that changed.
type UpdateConcert struct {
	repo *Repository
}

// NewUpdateConcert builds the command.
func NewUpdateConcert(repo *Repository) *UpdateConcert { return &UpdateConcert{repo: repo} }

// Handle runs the command.
func (u *UpdateConcert) Handle(ctx context.Context, in UpdateConcertInput) (Result, error) {
	return u.repo.Update(ctx, in.ID, in.Meta, func(c *domain.Concert) error {
		return c.Update(in.Artist, in.Venue, in.PriceCents)
	})
}
