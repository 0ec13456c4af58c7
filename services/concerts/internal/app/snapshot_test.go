package app_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/tools/local/boltlog"

	"github.com/concertsys/services/concerts/internal/app"
	"github.com/concertsys/services/concerts/internal/domain"
)

var (
	now    = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	starts = now.Add(30 * 24 * time.Hour)
)

var ids atomic.Int64

type failingSnapshots struct{ eventlog.SnapshotStore }

func (failingSnapshots) Save(context.Context, eventlog.Snapshot) error {
	return errors.New("snapshot store down")
}

func newRepo(t *testing.T, log eventlog.Log, snaps eventlog.SnapshotStore, report func(error)) *app.Repository {
	t.Helper()
	repo, err := app.NewRepository(log, func() time.Time { return now }, func() string { return fmt.Sprintf("e-%d", ids.Add(1)) }, 0)
	require.NoError(t, err)
	if snaps != nil {
		repo.UseSnapshots(snaps, 10, report)
	}
	return repo
}

func state(t *testing.T, repo *app.Repository, id string) domain.State {
	t.Helper()
	var s domain.State
	_, err := repo.Update(context.Background(), id, app.Meta{}, func(c *domain.Concert) error { s = c.State(); return nil })
	require.NoError(t, err)
	return s
}

// TestSnapshotsAreACacheOfTheFold: snapshots are taken every N events, an old
// StateVersion is ignored (the concert is folded from its events), and a snapshot
// store that fails never fails a command.
func TestSnapshotsAreACacheOfTheFold(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log, err := boltlog.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = log.Close() })
	snaps, err := boltlog.OpenSnapshots(filepath.Join(dir, "snapshots.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = snaps.Close() })

	repo := newRepo(t, log, snaps, func(err error) { t.Errorf("unexpected report: %v", err) })
	c, err := domain.Schedule("c1", "Artist", "Venue", starts, 1000, 100, now)
	require.NoError(t, err)
	_, err = repo.Create(ctx, c, app.Meta{})
	require.NoError(t, err)
	for range 24 {
		_, err := repo.Update(ctx, "c1", app.Meta{}, func(c *domain.Concert) error { return c.SellTickets(2, now) })
		require.NoError(t, err)
	}
	stored, err := snaps.Latest(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(20), stored.Version, "snapshots at multiples of 10")
	require.Equal(t, domain.StateVersion, stored.StateVersion)
	want := state(t, repo, "c1")
	require.Equal(t, 48, want.TicketsSold)
	require.Equal(t, want, state(t, newRepo(t, log, snaps, nil), "c1"), "cold load from the snapshot")

	// A snapshot of another state schema, even one that claims a different state, is
	// ignored: the concert is folded from its events.
	require.NoError(t, snaps.Save(ctx, eventlog.Snapshot{AggregateID: "c1", Version: 25,
		StateVersion: domain.StateVersion + 1, State: []byte(`{"id":"c1","version":25,"ticketsSold":999}`)}))
	require.Equal(t, want, state(t, newRepo(t, log, snaps, nil), "c1"))

	// A failing snapshot store costs a report, not the command.
	var reports []error
	broken := newRepo(t, log, failingSnapshots{snaps}, func(err error) { reports = append(reports, err) })
	for range 10 {
		_, err := broken.Update(ctx, "c1", app.Meta{}, func(c *domain.Concert) error { return c.SellTickets(1, now) })
		require.NoError(t, err)
	}
	require.NotEmpty(t, reports)
	require.Equal(t, 58, state(t, newRepo(t, log, snaps, nil), "c1").TicketsSold)
}
