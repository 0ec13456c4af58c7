package boltviews_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/concertsys/services/projections/internal/adapters/boltviews"
	"github.com/concertsys/services/projections/internal/adapters/viewstoretest"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/viewevents"
)

func open(t *testing.T, path string) *boltviews.Store {
	t.Helper()
	s, err := boltviews.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	viewstoretest.Run(t, viewstoretest.Options{}, func(t *testing.T) app.ViewStore {
		return open(t, filepath.Join(t.TempDir(), "views.db"))
	})
}

func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "views.db")
	s, err := boltviews.Open(path)
	require.NoError(t, err)
	key, err := s.CursorKey()
	require.NoError(t, err)
	v := viewstoretest.View("c1", 1, time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC), viewevents.StatusScheduled)
	require.NoError(t, s.Put(context.Background(), app.Record{View: v}, 0))
	require.NoError(t, s.Close())

	s = open(t, path)
	got, err := s.Get(context.Background(), "c1")
	require.NoError(t, err)
	require.Equal(t, v, got.View)
	again, err := s.CursorKey()
	require.NoError(t, err)
	require.Equal(t, key, again, "cursor key must survive a restart")
	other := open(t, filepath.Join(t.TempDir(), "other.db"))
	otherKey, err := other.CursorKey()
	require.NoError(t, err)
	require.NotEqual(t, key, otherKey, "each data file gets its own cursor key")
}

// TestGroupCommit has many writers at once, so writes share group commits: every
// acknowledged write must survive a reopen, and a write that fails (an undecodable
// stored record) must fail alone, not the writes it shared a transaction with.
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "views.db")
	raw, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, raw.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("views"))
		if err != nil {
			return err
		}
		return b.Put([]byte("bad"), []byte("{not json"))
	}))
	require.NoError(t, raw.Close())

	s, err := boltviews.Open(path)
	require.NoError(t, err)
	ctx := context.Background()
	const writers = 64
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%02d", i)
			if i%8 == 0 {
				id = "bad"
			}
			v := viewstoretest.View(id, 1, time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC), viewevents.StatusScheduled)
			if errs[i] = s.Put(ctx, app.Record{View: v}, 0); errs[i] == nil {
				errs[i] = s.MarkPublished(ctx, id, 1)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%8 == 0 {
			require.ErrorContains(t, err, "decode view bad", "writer %d: got %v, want the decode error", i, err)
			continue
		}
		require.NoError(t, err, "writer %d", i)
	}
	require.NoError(t, s.Close())
	err = s.Put(ctx, app.Record{View: viewstoretest.View("late", 1, time.Now(), viewevents.StatusScheduled)}, 0)
	require.Error(t, err, "got nil, want an error from a write after Close")

	s = open(t, path)
	for i := range writers {
		if i%8 == 0 {
			continue
		}
		got, err := s.Get(ctx, fmt.Sprintf("c%02d", i))
		require.NoError(t, err)
		require.Equal(t, int64(1), got.View.Version)
		require.Equal(t, int64(1), got.PublishedVersion, "got published v%d of c%02d, want v1", got.PublishedVersion, i)
	}
}

// TestPutNewer is the rebuild's batch write: new views stored, equal versions
// rewritten, newer stored views kept, published versions and the list indexes kept
// right.
func TestPutNewer(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "views.db"))
	at := time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC)
	require.NoError(t, s.Put(ctx, app.Record{View: viewstoretest.View("newer", 5, at, viewevents.StatusScheduled)}, 0))
	require.NoError(t, s.MarkPublished(ctx, "newer", 5))
	require.NoError(t, s.Put(ctx, app.Record{View: viewstoretest.View("equal", 3, at, viewevents.StatusScheduled)}, 0))
	require.NoError(t, s.MarkPublished(ctx, "equal", 2))

	equal := viewstoretest.View("equal", 3, at.Add(time.Hour), viewevents.StatusCancelled)
	fresh := viewstoretest.View("fresh", 1, at.Add(-time.Hour), viewevents.StatusScheduled)
	written, err := s.PutNewer(ctx, []app.Record{
		{View: viewstoretest.View("newer", 4, at, viewevents.StatusSoldOut)}, {View: equal}, {View: fresh},
	})
	require.NoError(t, err)
	require.Equal(t, 2, written, "got %d written, want the equal and the fresh one", written)

	tests := []struct {
		id            string
		wantVersion   int64
		wantStatus    string
		wantPublished int64
	}{
		{"newer", 5, viewevents.StatusScheduled, 5},
		{"equal", 3, viewevents.StatusCancelled, 2},
		{"fresh", 1, viewevents.StatusScheduled, 0},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			rec, err := s.Get(ctx, tc.id)
			require.NoError(t, err)
			require.Equal(t, tc.wantVersion, rec.View.Version)
			require.Equal(t, tc.wantStatus, rec.View.Status)
			require.Equal(t, tc.wantPublished, rec.PublishedVersion)
		})
	}
	page, err := s.List(ctx, app.ListQuery{Limit: 10})
	require.NoError(t, err)
	var order []string
	for _, v := range page.Items {
		order = append(order, v.ID)
	}
	require.Equal(t, []string{"fresh", "newer", "equal"}, order, "list order by startsAt after the batch")
	cancelled, err := s.List(ctx, app.ListQuery{Status: viewevents.StatusCancelled, Limit: 10})
	require.NoError(t, err)
	require.Len(t, cancelled.Items, 1)
	scheduled, err := s.List(ctx, app.ListQuery{Status: viewevents.StatusScheduled, Limit: 10})
	require.NoError(t, err)
	require.Len(t, scheduled.Items, 2, "the rewritten view left its old status index")
}

// MarkPublished does not wait for a commit: Get sees the mark at once, a later Put
// keeps it, the writer commits it without another write, and Close commits what is
// still pending.
func TestMarkPublishedRidesTheNextCommit(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		run  func(t *testing.T, s *boltviews.Store) // after v1 is stored and marked
		want int64                                  // published version after a reopen
	}{
		{"seen by Get at once", func(t *testing.T, s *boltviews.Store) {
			got, err := s.Get(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, int64(1), got.PublishedVersion, "got published v%d want v1", got.PublishedVersion)
		}, 1},
		{"kept by a later Put", func(t *testing.T, s *boltviews.Store) {
			v2 := viewstoretest.View("c1", 2, at, viewevents.StatusScheduled)
			require.NoError(t, s.Put(ctx, app.Record{View: v2}, 1))
			got, err := s.Get(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, int64(1), got.PublishedVersion)
		}, 1},
		{"committed without another write", func(t *testing.T, s *boltviews.Store) {
			require.Eventually(t, func() bool { return s.Commits() >= 2 }, 5*time.Second, time.Millisecond)
		}, 1},
		{"never lowered", func(t *testing.T, s *boltviews.Store) {
			require.NoError(t, s.MarkPublished(ctx, "c1", 0))
		}, 1},
		{"unknown view", func(t *testing.T, s *boltviews.Store) {
			require.ErrorIs(t, s.MarkPublished(ctx, "nope", 1), app.ErrNotFound)
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "views.db")
			s, err := boltviews.Open(path)
			require.NoError(t, err)
			require.NoError(t, s.Put(ctx, app.Record{View: viewstoretest.View("c1", 1, at, viewevents.StatusScheduled)}, 0))
			require.NoError(t, s.MarkPublished(ctx, "c1", 1))
			tt.run(t, s)
			require.NoError(t, s.Close())
			got, err := open(t, path).Get(ctx, "c1")
			require.NoError(t, err)
			require.Equal(t, tt.want, got.PublishedVersion, "after a reopen: got published v%d want v%d", got.PublishedVersion, tt.want)
		})
	}
}
