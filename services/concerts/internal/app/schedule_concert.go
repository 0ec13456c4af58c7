package app

import (
	"context"
	"time"

	"github.com/concertsys/services/concerts/internal/domain"
)

// ScheduleConcertInput creates a concert under ID (chosen by the caller so that a
// retried idempotent request reuses it).
type ScheduleConcertInput struct {
	ID         string
	Artist     string
	Venue      string
	StartsAt   time.Time
	Capacity   int
	PriceCents int64
	Meta       Meta
}

// ScheduleConcert records ConcertScheduled as version 1.
type ScheduleConcert struct {
	repo *Repository
	now  func() time.Time
}

// NewScheduleConcert builds the command.
func NewScheduleConcert(repo *Repository, now func() time.Time) *ScheduleConcert {
	return &ScheduleConcert{repo: repo, now: now}
}

// Handle runs the command.
func (s *ScheduleConcert) Handle(ctx context.Context, in ScheduleConcertInput) (Result, error) {
	if in.Meta.IfMatch != nil {
		// No version of a concert that does not exist yet can match.
		return Result{}, &PreconditionError{Expected: *in.Meta.IfMatch, Current: 0}
	}
	c, err := domain.Schedule(in.ID, in.Artist, in.Venue, in.StartsAt, in.Capacity, in.PriceCents, s.now())
	if err != nil {
		return Result{}, err
	}
	return s.repo.Create(ctx, c, in.Meta)
}
