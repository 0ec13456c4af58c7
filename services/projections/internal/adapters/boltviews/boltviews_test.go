package boltviews_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
