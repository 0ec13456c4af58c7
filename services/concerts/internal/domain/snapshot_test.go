package domain_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/concerts/internal/domain"
)

// randomHistory drives a concert through random commands (sales, updates,
// reschedules, sometimes a cancel) and returns its stored events.
func randomHistory(t *testing.T, r *rand.Rand) []domain.Recorded {
	t.Helper()
	c, err := domain.Schedule("c1", "Artist", "Venue", starts, 1+r.IntN(300), int64(r.IntN(10_000)), now)
	require.NoError(t, err)
	var hist []domain.Recorded
	commit := func() {
		for _, e := range c.Pending() {
			data, err := json.Marshal(e.Data)
			require.NoError(t, err)
			hist = append(hist, domain.Recorded{Version: e.Version, EventType: e.EventType, Data: data})
		}
		c.MarkCommitted()
	}
	commit()
	for n := r.IntN(60); n > 0; n-- {
		switch k := r.IntN(20); {
		case k < 14:
			_ = c.SellTickets(1+r.IntN(domain.MaxQuantity), now)
		case k < 17:
			a, p := "Artist "+string(rune('A'+r.IntN(26))), int64(r.IntN(10_000))
			_ = c.Update(&a, nil, &p)
		case k < 19:
			_ = c.Reschedule(starts.Add(time.Duration(r.IntN(1000))*time.Hour), now)
		default:
			_ = c.Cancel("because")
		}
		commit()
	}
	return hist
}

// TestSnapshotThenFoldEqualsFoldFromScratch is the property snapshots rest on: for
// random histories and every point a snapshot could be taken at, restoring the
// snapshot (through its JSON form) and folding the rest gives the same concert as
// folding every event, and that concert decides the next command the same way.
func TestSnapshotThenFoldEqualsFoldFromScratch(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 14))
		hist := randomHistory(t, r)
		full, err := domain.Rehydrate("c1", hist)
		require.NoError(t, err)
		want, err := full.Snapshot()
		require.NoError(t, err)
		for cut := 1; cut <= len(hist); cut++ {
			part, err := domain.Rehydrate("c1", hist[:cut])
			require.NoError(t, err)
			s, err := part.Snapshot()
			require.NoError(t, err)
			raw, err := json.Marshal(s)
			require.NoError(t, err)
			var decoded domain.Snapshot
			require.NoError(t, json.Unmarshal(raw, &decoded))
			restored, err := domain.FromSnapshot(decoded)
			require.NoError(t, err)
			require.NoError(t, restored.ApplyStored(hist[cut:]))
			got, err := restored.Snapshot()
			require.NoError(t, err)
			require.Equal(t, want, got, "seed %d, snapshot after %d of %d events", seed, cut, len(hist))
			require.Equal(t, full.State(), restored.State())
			require.Equal(t, full.CommittedVersion(), restored.CommittedVersion())

			q := 1 + r.IntN(domain.MaxQuantity)
			a, b := full.Clone(), restored.Clone()
			errA, errB := a.SellTickets(q, now), b.SellTickets(q, now)
			require.Equal(t, errA == nil, errB == nil)
			require.Equal(t, a.Pending(), b.Pending())
		}
	}
}

func TestSnapshotRefusesPendingAndImpossibleState(t *testing.T) {
	c, err := domain.Schedule("c1", "Artist", "Venue", starts, 10, 100, now)
	require.NoError(t, err)
	_, err = c.Snapshot()
	require.ErrorIs(t, err, domain.ErrPendingEvents)
	c.MarkCommitted()
	s, err := c.Snapshot()
	require.NoError(t, err)
	require.Equal(t, int64(1), s.Version)

	bad := s
	bad.TicketsSold = 11
	_, err = domain.FromSnapshot(bad)
	require.Error(t, err)
	bad = s
	bad.Version = 0
	_, err = domain.FromSnapshot(bad)
	require.Error(t, err)
}
