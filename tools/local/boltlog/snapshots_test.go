package boltlog_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/testkit/eventlogtest"
	"github.com/concertsys/tools/local/boltlog"
)

func TestSnapshotConformance(t *testing.T) {
	eventlogtest.RunSnapshots(t, eventlogtest.Options{}, func(t *testing.T) eventlog.SnapshotStore {
		s, err := boltlog.OpenSnapshots(filepath.Join(t.TempDir(), "snapshots.db"))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	})
}

// Save does not wait for the disk, so what Close must guarantee is that every saved
// snapshot is committed before the file closes.
func TestSnapshotsSurviveCloseAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snapshots.db")
	s, err := boltlog.OpenSnapshots(path)
	require.NoError(t, err)
	ctx := t.Context()
	for i, id := range []string{"c-1", "c-2", "c-3"} {
		require.NoError(t, s.Save(ctx, eventlog.Snapshot{AggregateID: id, Version: int64(10 * (i + 1)), StateVersion: 1, State: []byte(`{"n":1}`)}))
	}
	require.NoError(t, s.Save(ctx, eventlog.Snapshot{AggregateID: "c-1", Version: 5, StateVersion: 1, State: []byte(`{"old":true}`)}))
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Save(ctx, eventlog.Snapshot{AggregateID: "c-9", Version: 1, StateVersion: 1, State: []byte(`{}`)}), boltlog.ErrSnapshotsClosed)

	s, err = boltlog.OpenSnapshots(path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	for i, id := range []string{"c-1", "c-2", "c-3"} {
		got, err := s.Latest(ctx, id)
		require.NoError(t, err)
		require.Equal(t, int64(10*(i+1)), got.Version, "got version %d of %s, want %d", got.Version, id, 10*(i+1))
		require.JSONEq(t, `{"n":1}`, string(got.State))
	}
}
