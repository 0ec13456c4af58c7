package app

import (
	"context"
	"time"

	"github.com/concertsys/services/concerts/internal/domain"
)

// RescheduleConcertInput moves a concert's start.
type RescheduleConcertInput struct {
	ID       string
	StartsAt time.Time
	Meta     Meta
}

// RescheduleConcert records ConcertRescheduled.
type RescheduleConcert struct {
	repo *Repository
	now  func() time.Time
}

// NewRescheduleConcert builds the command.
func NewRescheduleConcert(repo *Repository, now func() time.Time) *RescheduleConcert {
	return &RescheduleConcert{repo: repo, now: now}
}

// Handle runs the command.
func (r *RescheduleConcert) Handle(ctx context.Context, in RescheduleConcertInput) (Result, error) {
	return r.repo.Update(ctx, in.ID, in.Meta, func(c *domain.Concert) error {
		return c.Reschedule(in.StartsAt, r.now())
	})
}
