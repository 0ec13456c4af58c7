package app

import (
	"context"
	"time"

	"github.com/concertsys/services/concerts/internal/domain"
)

// SellTickets sells Quantity tickets of a concert.
type SellTickets struct {
	ID       string
	Quantity int
}

// SellTickets records TicketsSold (and ConcertSoldOut in the same append when the
// sale reaches capacity).
func (a *App) SellTickets(ctx context.Context, cmd SellTickets, meta Meta) (Result, error) {
	return a.change(ctx, cmd.ID, meta, func(c *domain.Concert, now time.Time) error {
		return c.SellTickets(cmd.Quantity, now)
	})
}
