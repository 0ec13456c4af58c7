package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/sales/internal/adapters/boltstore"
	"github.com/concertsys/services/sales/internal/app"
	"github.com/concertsys/services/sales/internal/domain"
)

// Pages of hours follow nextFrom to the last, which has none; totals are always
// over every hour.
func TestGetPagesHours(t *testing.T) {
	ctx := context.Background()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "sales.db"))
	require.NoError(t, err)
	defer st.Close()
	h0 := time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
	for i := range 5 {
		_, err := st.Record(ctx, domain.Entry{AggregateID: "a", Version: int64(i + 1), Hour: h0.Add(time.Duration(i) * time.Hour),
			Measurement: domain.Measurement{Amount: 2, Events: 1}})
		require.NoError(t, err)
	}
	get := app.NewGetPaged(st, 2)
	var from time.Time
	var pages [][]time.Time
	for range 5 {
		v, err := get.Handle(ctx, "a", from)
		require.NoError(t, err)
		require.Equal(t, domain.TotalsView{Amount: 10, Events: 5}, v.Totals, "got totals %+v on page %d", v.Totals, len(pages))
		var page []time.Time
		for _, h := range v.Hours {
			page = append(page, h.Hour)
		}
		pages = append(pages, page)
		if v.NextFrom == nil {
			break
		}
		from = *v.NextFrom
	}
	require.Equal(t, [][]time.Time{{h0, h0.Add(time.Hour)}, {h0.Add(2 * time.Hour), h0.Add(3 * time.Hour)}, {h0.Add(4 * time.Hour)}}, pages,
		"got pages %v", pages)

	_, err = get.Handle(ctx, "unknown", time.Time{})
	require.ErrorIs(t, err, app.ErrNotFound, "got %v", err)
}
