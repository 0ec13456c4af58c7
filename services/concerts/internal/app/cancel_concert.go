package app

import (
	"context"

	"github.com/concertsys/services/concerts/internal/domain"
)

// CancelConcertInput cancels a concert for good.
type CancelConcertInput struct {
	ID     string
	Reason string
	Meta   Meta
}

// CancelConcert records ConcertCancelled.
type CancelConcert struct {
	repo *Repository
}

// NewCancelConcert builds the command.
func NewCancelConcert(repo *Repository) *CancelConcert { return &CancelConcert{repo: repo} }

// Handle runs the command.
func (cc *CancelConcert) Handle(ctx context.Context, in CancelConcertInput) (Result, error) {
	return cc.repo.Update(ctx, in.ID, in.Meta, func(c *domain.Concert) error {
		return c.Cancel(in.Reason)
	})
}
