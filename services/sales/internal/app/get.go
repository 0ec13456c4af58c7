package app

import (
	"context"
	"fmt"
	"time"

	"github.com/concertsys/services/sales/internal/domain"
)

// View is the answer of the query route.
type View struct {
	ID     string            `json:"id"`
	Hours  []domain.HourView `json:"hours"`
	Totals domain.TotalsView `json:"totals"`
	// NextFrom is where the next page of hours starts (absent on the last page).
	NextFrom *time.Time `json:"nextFrom,omitempty"`
}

// Get answers one aggregate's hours and totals.
type Get struct {
	store    Store
	pageSize int
}

// NewGet is the query over store, MaxHours hours a page.
func NewGet(store Store) *Get { return &Get{store: store, pageSize: MaxHours} }

// Handle returns the view of id from the hour from (zero: the first), at most a page
// of hours; ErrNotFound when no event named id.
func (g *Get) Handle(ctx context.Context, id string, from time.Time) (View, error) {
	totals, err := g.store.Totals(ctx, id)
	if err != nil {
		return View{}, fmt.Errorf("totals of %s: %w", id, err)
	}
	hours, err := g.store.Hours(ctx, id, domain.HourOf(from), g.pageSize+1)
	if err != nil {
		return View{}, fmt.Errorf("hours of %s: %w", id, err)
	}
	v := View{ID: id, Hours: []domain.HourView{}, Totals: domain.TotalsView{Amount: totals.Amount, Events: totals.Events}}
	if len(hours) > g.pageSize {
		next := hours[g.pageSize].Hour
		v.NextFrom, hours = &next, hours[:g.pageSize]
	}
	for _, h := range hours {
		v.Hours = append(v.Hours, domain.HourView{Hour: h.Hour, Amount: h.Amount, Events: h.Events})
	}
	return v, nil
}
