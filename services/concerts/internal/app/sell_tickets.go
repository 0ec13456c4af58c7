package app

import (
	"context"
	"time"

	"github.com/concertsys/services/concerts/internal/domain"
)

// SellTicketsInput sells Quantity tickets of a concert.
type SellTicketsInput struct {
	ID       string
	Quantity int
	Meta     Meta
}

// SellTickets records TicketsSold (and ConcertSoldOut in the same append when the
// sale reaches capacity).
type SellTickets struct {
	repo *Repository
	now  func() time.Time
}

// NewSellTickets builds the command.
func NewSellTickets(repo *Repository, now func() time.Time) *SellTickets {
	return &SellTickets{repo: repo, now: now}
}

// Handle runs the command.
func (s *SellTickets) Handle(ctx context.Context, in SellTicketsInput) (Result, error) {
	return s.repo.Update(ctx, in.ID, in.Meta, func(c *domain.Concert) error {
		return c.SellTickets(in.Quantity, s.now())
	})
}
