// Package viewstoretest is the conformance suite every app.ViewStore adapter passes.
package viewstoretest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/viewevents"
)

// Options describe what a backend can be held to.
type Options struct {
	// NotAtomic skips the concurrent-writers case: moto's threaded server checks a
	// condition and writes without a lock, unlike DynamoDB, minidyn and bbolt, so
	// racing conditional writes can all succeed there. Sequential conditional
	// behaviour is still checked.
	NotAtomic bool
}

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, opts Options, newStore func(t *testing.T) app.ViewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s app.ViewStore)
	}{
		{"get unknown is not found", testGetUnknown},
		{"put then get round-trips exactly", testRoundTrip},
		{"put is conditional on the version", testConditional},
		{"publishedVersion is kept by put and only raised", testPublished},
		{"concurrent writers: exactly one wins", testConcurrent},
		{"list orders by startsAt then id and pages", testListOrder},
		{"list filters by status and follows status changes", testListStatus},
	}
	for _, tc := range tests {
		if opts.NotAtomic && tc.name == "concurrent writers: exactly one wins" {
			// moto's conditional writes race under concurrency; real DynamoDB's do not,
			// and the same case runs against minidyn and bbolt.
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

var base = time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC)

// View is a valid view for tests.
func View(id string, version int64, startsAt time.Time, status string) viewevents.ConcertViewV1 {
	return viewevents.ConcertViewV1{
		ID: id, Artist: "Artist " + id, Venue: "Venue", StartsAt: startsAt, Capacity: 100, PriceCents: 4500,
		TicketsSold: int(version), TicketsAvailable: 100 - int(version), Status: status, Version: version,
		UpdatedAt: base.Add(-time.Hour).Add(time.Duration(version) * time.Millisecond),
	}
}

func put(t *testing.T, s app.ViewStore, v viewevents.ConcertViewV1, expected int64) {
	t.Helper()
	require.NoError(t, s.Put(context.Background(), app.Record{View: v, LastEventID: fmt.Sprintf("e-%s-%d", v.ID, v.Version), LastCorrelationID: "corr"}, expected))
}

func testGetUnknown(t *testing.T, s app.ViewStore) {
	_, err := s.Get(context.Background(), "nope")
	require.ErrorIs(t, err, app.ErrNotFound)
	require.ErrorIs(t, s.MarkPublished(context.Background(), "nope", 1), app.ErrNotFound)
}

func testRoundTrip(t *testing.T, s app.ViewStore) {
	ctx := context.Background()
	v := View("c-ü-1", 3, base.Add(123456789*time.Nanosecond), viewevents.StatusSoldOut)
	v.Artist, v.Venue = "Sigur Rós ✓", `Venue "quoted" \ back`
	v.UpdatedAt = time.Date(2026, 5, 1, 18, 4, 0, 7_000_000, time.UTC)
	rec := app.Record{View: v, LastEventID: "e-3", LastCorrelationID: "req-1"}
	require.NoError(t, s.Put(ctx, rec, 0))
	got, err := s.Get(ctx, v.ID)
	require.NoError(t, err)
	require.Equal(t, rec, got)
	want, _ := json.Marshal(v)
	gotJSON, _ := json.Marshal(got.View)
	require.JSONEq(t, string(want), string(gotJSON))
	require.Equal(t, string(want), string(gotJSON), "got view bytes differ from the stored view")
}

func testConditional(t *testing.T, s app.ViewStore) {
	ctx := context.Background()
	put(t, s, View("c1", 1, base, viewevents.StatusScheduled), 0)
	err := s.Put(ctx, app.Record{View: View("c1", 2, base, viewevents.StatusScheduled)}, 0)
	require.ErrorIs(t, err, app.ErrConflict, "got %v, want conflict when a view exists and 0 was expected", err)
	err = s.Put(ctx, app.Record{View: View("c1", 3, base, viewevents.StatusScheduled)}, 2)
	require.ErrorIs(t, err, app.ErrConflict, "got %v, want conflict on a stale expected version", err)
	err = s.Put(ctx, app.Record{View: View("c2", 2, base, viewevents.StatusScheduled)}, 1)
	require.ErrorIs(t, err, app.ErrConflict, "got %v, want conflict when expecting a view that is absent", err)
	put(t, s, View("c1", 2, base, viewevents.StatusScheduled), 1)
	got, err := s.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(2), got.View.Version)
	// Rewriting the same version (a rebuild after a fix) is allowed when expected.
	put(t, s, View("c1", 2, base.Add(time.Hour), viewevents.StatusScheduled), 2)
	got, err = s.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, base.Add(time.Hour), got.View.StartsAt)
}

func testPublished(t *testing.T, s app.ViewStore) {
	ctx := context.Background()
	v := View("c1", 1, base, viewevents.StatusScheduled)
	require.NoError(t, s.Put(ctx, app.Record{View: v, PublishedVersion: 99}, 0))
	got, err := s.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(0), got.PublishedVersion, "a new view starts unpublished whatever the record says")
	require.NoError(t, s.MarkPublished(ctx, "c1", 1))
	put(t, s, View("c1", 2, base, viewevents.StatusScheduled), 1)
	got, err = s.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(1), got.PublishedVersion, "put keeps the published version")
	require.NoError(t, s.MarkPublished(ctx, "c1", 2))
	require.NoError(t, s.MarkPublished(ctx, "c1", 1), "lower mark is a no-op")
	got, err = s.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(2), got.PublishedVersion)
}

func testConcurrent(t *testing.T, s app.ViewStore) {
	ctx := context.Background()
	put(t, s, View("c1", 1, base, viewevents.StatusScheduled), 0)
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := View("c1", 2, base.Add(time.Duration(i)*time.Minute), viewevents.StatusScheduled)
			errs[i] = s.Put(ctx, app.Record{View: v}, 1)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			require.ErrorIs(t, err, app.ErrConflict)
		}
	}
	require.Equal(t, 1, wins, "got %d successful writers, want exactly 1", wins)
}

// all pages through the list and returns every id in order.
func all(t *testing.T, s app.ViewStore, status string, limit int) []string {
	t.Helper()
	var ids []string
	after := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 1000, "list does not terminate")
		page, err := s.List(context.Background(), app.ListQuery{Status: status, After: after, Limit: limit})
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Items), limit)
		for _, v := range page.Items {
			ids = append(ids, v.ID)
		}
		if page.Next == "" {
			return ids
		}
		require.Len(t, page.Items, limit, "a page with a next position must be full")
		require.Equal(t, app.Position(page.Items[len(page.Items)-1]), page.Next)
		after = page.Next
	}
}

func testListOrder(t *testing.T, s app.ViewStore) {
	statusOf := []string{viewevents.StatusScheduled, viewevents.StatusSoldOut, viewevents.StatusCancelled}
	var want []viewevents.ConcertViewV1
	for i := range 23 {
		// Several concerts share a start so the id breaks ties.
		v := View(fmt.Sprintf("c%02d", (i*7)%23), 1, base.Add(time.Duration(i%5)*time.Hour), statusOf[i%3])
		put(t, s, v, 0)
		want = append(want, v)
	}
	slices.SortFunc(want, func(a, b viewevents.ConcertViewV1) int {
		if c := a.StartsAt.Compare(b.StartsAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	var wantIDs []string
	for _, v := range want {
		wantIDs = append(wantIDs, v.ID)
	}
	for _, limit := range []int{1, 4, 23, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			require.Equal(t, wantIDs, all(t, s, "", limit))
		})
	}
	page, err := s.List(context.Background(), app.ListQuery{Limit: 23})
	require.NoError(t, err)
	require.Empty(t, page.Next, "got a next position on the last page")
}

func testListStatus(t *testing.T, s app.ViewStore) {
	ctx := context.Background()
	for i := range 6 {
		put(t, s, View(fmt.Sprintf("c%d", i), 1, base.Add(time.Duration(6-i)*time.Hour), viewevents.StatusScheduled), 0)
	}
	require.Equal(t, []string{"c5", "c4", "c3", "c2", "c1", "c0"}, all(t, s, viewevents.StatusScheduled, 4))
	require.Empty(t, all(t, s, viewevents.StatusSoldOut, 4))
	// c2 sells out and c4 moves to the front: both indexes follow.
	put(t, s, View("c2", 2, base.Add(4*time.Hour), viewevents.StatusSoldOut), 1)
	put(t, s, View("c4", 2, base, viewevents.StatusScheduled), 1)
	require.Equal(t, []string{"c4", "c5", "c3", "c1", "c0"}, all(t, s, viewevents.StatusScheduled, 2))
	require.Equal(t, []string{"c2"}, all(t, s, viewevents.StatusSoldOut, 2))
	require.Equal(t, []string{"c4", "c5", "c3", "c2", "c1", "c0"}, all(t, s, "", 5))
	got, err := s.Get(ctx, "c2")
	require.NoError(t, err)
	require.Equal(t, viewevents.StatusSoldOut, got.View.Status)
}
