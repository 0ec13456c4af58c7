package eventlogtest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
)

// RunSnapshots checks that the SnapshotStore returned by newStore behaves as the port
// promises. newStore is called once per subtest and must return an empty store.
func RunSnapshots(t *testing.T, opts Options, newStore func(t *testing.T) eventlog.SnapshotStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s eventlog.SnapshotStore)
	}{
		{"MissingIsErrNoSnapshot", testSnapshotMissing},
		{"SaveThenLatest", testSnapshotRoundTrip},
		{"NeverGoesBack", testSnapshotNeverBack},
		{"StateVersionReplacedAtSameVersion", testSnapshotStateVersion},
		{"Invalid", testSnapshotInvalid},
		{"PerAggregate", testSnapshotPerAggregate},
	}
	if !opts.NotAtomic {
		tests = append(tests, struct {
			name string
			run  func(t *testing.T, s eventlog.SnapshotStore)
		}{"ConcurrentKeepsLatest", testSnapshotConcurrent})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

func snap(id string, v int64, sv int, state string) eventlog.Snapshot {
	return eventlog.Snapshot{AggregateID: id, Version: v, StateVersion: sv, State: json.RawMessage(state)}
}

func requireSnapshot(t testing.TB, s eventlog.SnapshotStore, want eventlog.Snapshot) {
	t.Helper()
	got, err := s.Latest(context.Background(), want.AggregateID)
	require.NoError(t, err)
	require.Equal(t, want.AggregateID, got.AggregateID)
	require.Equal(t, want.Version, got.Version)
	require.Equal(t, want.StateVersion, got.StateVersion)
	require.JSONEq(t, string(want.State), string(got.State))
}

func testSnapshotMissing(t *testing.T, s eventlog.SnapshotStore) {
	_, err := s.Latest(context.Background(), uniqueID("missing"))
	require.ErrorIs(t, err, eventlog.ErrNoSnapshot)
	_, err = s.Latest(context.Background(), "")
	require.ErrorIs(t, err, eventlog.ErrNoSnapshot)
}

func testSnapshotRoundTrip(t *testing.T, s eventlog.SnapshotStore) {
	ctx := context.Background()
	id := uniqueID("snap")
	first := snap(id, 10, 1, `{"sold":3,"name":"Ünïcode ✓","nested":{"a":[1,2]}}`)
	require.NoError(t, s.Save(ctx, first))
	requireSnapshot(t, s, first)
	later := snap(id, 20, 1, `{"sold":7}`)
	require.NoError(t, s.Save(ctx, later))
	requireSnapshot(t, s, later)
	big := snap(id, 30, 1, `"`+strings.Repeat("x", 100_000)+`"`)
	require.NoError(t, s.Save(ctx, big))
	requireSnapshot(t, s, big)
}

func testSnapshotNeverBack(t *testing.T, s eventlog.SnapshotStore) {
	ctx := context.Background()
	id := uniqueID("snap")
	later := snap(id, 20, 1, `{"v":20}`)
	require.NoError(t, s.Save(ctx, later))
	require.NoError(t, s.Save(ctx, snap(id, 10, 1, `{"v":10}`)), "an older snapshot is not an error")
	requireSnapshot(t, s, later)
}

func testSnapshotStateVersion(t *testing.T, s eventlog.SnapshotStore) {
	ctx := context.Background()
	id := uniqueID("snap")
	require.NoError(t, s.Save(ctx, snap(id, 10, 1, `{"old":true}`)))
	newer := snap(id, 10, 2, `{"new":true}`)
	require.NoError(t, s.Save(ctx, newer))
	requireSnapshot(t, s, newer)
}

func testSnapshotInvalid(t *testing.T, s eventlog.SnapshotStore) {
	ctx := context.Background()
	require.ErrorIs(t, s.Save(ctx, snap("", 1, 1, `{}`)), eventlog.ErrInvalid)
	require.ErrorIs(t, s.Save(ctx, snap(uniqueID("snap"), 0, 1, `{}`)), eventlog.ErrInvalid)
	require.ErrorIs(t, s.Save(ctx, snap(uniqueID("snap"), 1, 1, `{not json`)), eventlog.ErrInvalid)
	require.ErrorIs(t, s.Save(ctx, snap(uniqueID("snap"), 1, 1, `"`+strings.Repeat("x", eventlog.MaxItemBytes)+`"`)), eventlog.ErrTooLarge)
}

func testSnapshotPerAggregate(t *testing.T, s eventlog.SnapshotStore) {
	ctx := context.Background()
	a, b := snap(uniqueID("a"), 5, 1, `{"a":1}`), snap(uniqueID("b"), 7, 1, `{"b":1}`)
	require.NoError(t, s.Save(ctx, a))
	require.NoError(t, s.Save(ctx, b))
	requireSnapshot(t, s, a)
	requireSnapshot(t, s, b)
}

func testSnapshotConcurrent(t *testing.T, s eventlog.SnapshotStore) {
	ctx := context.Background()
	id := uniqueID("snap")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for v := int64(1); v <= 20; v++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Save(ctx, snap(id, v, 1, `{}`)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.False(t, errors.Is(err, eventlog.ErrInvalid), err)
		require.NoError(t, err)
	}
	requireSnapshot(t, s, snap(id, 20, 1, `{}`))
}
