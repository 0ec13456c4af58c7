// Package storetest is the conformance suite of app.Store: every adapter runs it, so
// devstack (bbolt) and AWS (DynamoDB) behave alike.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/sales/internal/app"
	"github.com/concertsys/services/sales/internal/domain"
)

// Options describe what the server behind an adapter cannot be relied on for.
type Options struct {
	// NotAtomic leaves out the concurrency case (see dynamotest.Backend).
	NotAtomic bool
}

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, opts Options, newStore func(t *testing.T) app.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, st app.Store)
	}{
		{"UnknownAggregateNotFound", testUnknown},
		{"SumsPerHourAndTotals", testSums},
		{"DuplicateCountsOnce", testDuplicate},
		{"ZeroMeasurementMakesKnownWithoutHour", testZero},
		{"HoursFromAndLimit", testHoursPaging},
		{"CatchUpFirstRecordWins", testCatchUp},
		{"ConcurrentDuplicatesCountOnce", testConcurrent},
	}
	for _, tc := range tests {
		if opts.NotAtomic && tc.name == "ConcurrentDuplicatesCountOnce" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

var (
	ctx = context.Background()
	h0  = time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
)

func entry(id string, version int64, hour time.Time, amount int64) domain.Entry {
	return domain.Entry{AggregateID: id, Version: version, EventID: fmt.Sprintf("e-%s-%d", id, version), Hour: hour,
		Measurement: domain.Measurement{Amount: amount, Events: 1}}
}

func record(t *testing.T, st app.Store, e domain.Entry, want bool) {
	t.Helper()
	got, err := st.Record(ctx, e)
	require.NoError(t, err)
	require.Equal(t, want, got, "Record(%s v%d): got added=%v want %v", e.AggregateID, e.Version, got, want)
}

func testUnknown(t *testing.T, st app.Store) {
	_, err := st.Totals(ctx, "nobody")
	require.ErrorIs(t, err, app.ErrNotFound, "got %v want ErrNotFound", err)
	hours, err := st.Hours(ctx, "nobody", time.Time{}, 10)
	require.NoError(t, err)
	require.Empty(t, hours, "got %v want no hours", hours)
}

func testSums(t *testing.T, st app.Store) {
	record(t, st, entry("a", 3, h0.Add(time.Hour), 5), true)
	record(t, st, entry("a", 2, h0, 4), true)
	record(t, st, entry("a", 4, h0, 1), true)
	record(t, st, entry("b", 2, h0, 7), true)
	totals, err := st.Totals(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, domain.Measurement{Amount: 10, Events: 3}, totals, "got totals %+v", totals)
	hours, err := st.Hours(ctx, "a", time.Time{}, 10)
	require.NoError(t, err)
	require.Equal(t, []app.Bucket{
		{Hour: h0, Measurement: domain.Measurement{Amount: 5, Events: 2}},
		{Hour: h0.Add(time.Hour), Measurement: domain.Measurement{Amount: 5, Events: 1}},
	}, hours, "got hours %+v", hours)
}

func testDuplicate(t *testing.T, st app.Store) {
	record(t, st, entry("a", 2, h0, 4), true)
	record(t, st, entry("a", 2, h0, 4), false)
	totals, err := st.Totals(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, domain.Measurement{Amount: 4, Events: 1}, totals, "got totals %+v after a duplicate", totals)
}

func testZero(t *testing.T, st app.Store) {
	e := entry("a", 1, h0, 0)
	e.Events = 0
	record(t, st, e, true)
	totals, err := st.Totals(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, domain.Measurement{}, totals, "got %+v", totals)
	hours, err := st.Hours(ctx, "a", time.Time{}, 10)
	require.NoError(t, err)
	require.Empty(t, hours, "got %v want no hours", hours)
}

func testHoursPaging(t *testing.T, st app.Store) {
	for i := range 5 {
		record(t, st, entry("a", int64(i+1), h0.Add(time.Duration(i)*time.Hour), 1), true)
	}
	hours, err := st.Hours(ctx, "a", h0.Add(time.Hour), 2)
	require.NoError(t, err)
	require.Len(t, hours, 2, "got %+v", hours)
	require.Equal(t, h0.Add(time.Hour), hours[0].Hour, "got first hour %s", hours[0].Hour)
	require.Equal(t, h0.Add(2*time.Hour), hours[1].Hour, "got second hour %s", hours[1].Hour)
}

func testCatchUp(t *testing.T, st app.Store) {
	_, ok, err := st.CatchUp(ctx)
	require.NoError(t, err)
	require.False(t, ok, "got a catch-up record in an empty store")
	first := app.CatchUpRecord{ReplayName: "r1", From: time.Unix(0, 0).UTC(), To: h0.Add(1500 * time.Millisecond)}
	got, err := st.SaveCatchUp(ctx, first)
	require.NoError(t, err)
	require.Equal(t, first, got)
	got, err = st.SaveCatchUp(ctx, app.CatchUpRecord{ReplayName: "r2", From: h0, To: h0.Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, first, got, "got %+v, want the first record to stay", got)
	first.Completed = true
	_, err = st.SaveCatchUp(ctx, first)
	require.NoError(t, err)
	got, ok, err = st.CatchUp(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, first, got, "got %+v want the completed record", got)
}

func testConcurrent(t *testing.T, st app.Store) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := st.Record(ctx, entry("a", 1, h0, 3))
			require.NoError(t, err)
		})
	}
	wg.Wait()
	totals, err := st.Totals(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, domain.Measurement{Amount: 3, Events: 1}, totals, "got %+v after 8 concurrent deliveries", totals)
}
