package ports_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/tools/local/boltlog"

	"github.com/concertsys/services/concerts/concertevents"
	"github.com/concertsys/services/concerts/internal/ports"
)

// TestConcurrentSalesNeverOversell runs many buyers against one concert through
// three independent handler instances (separate caches and locks, one log: like
// three Lambda containers), so optimistic-concurrency conflicts really happen.
func TestConcurrentSalesNeverOversell(t *testing.T) {
	const (
		capacity  = 300
		instances = 3
		buyers    = 24
	)
	// The instances share the log and a snapshot store taken every 3 events, so
	// they also race on snapshots and load from each other's.
	snaps, err := boltlog.OpenSnapshots(filepath.Join(t.TempDir(), "snapshots.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, snaps.Close()) })
	first := newHarness(t, options{snapshots: snaps, snapshotEvery: 3})
	hs := []*harness{first}
	for range instances - 1 {
		hs = append(hs, newHarness(t, options{log: first.log, snapshots: snaps, snapshotEvery: 3}))
	}
	id := first.schedule(t, capacity)

	var sold, contention atomic.Int64
	var wg sync.WaitGroup
	for b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := hs[b%instances]
			q := 1 + b%4
			for {
				resp, err := h.http.SellTickets(t.Context(), request(ports.RouteTickets, id, fmt.Sprintf(`{"quantity":%d}`, q), nil))
				if err != nil || resp.StatusCode >= 500 {
					t.Errorf("got %v %d %s", err, resp.StatusCode, resp.Body)
					return
				}
				if resp.StatusCode == 200 {
					sold.Add(int64(q))
					continue
				}
				var p httpapi.Problem
				if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || resp.StatusCode != 409 {
					t.Errorf("got %d %s", resp.StatusCode, resp.Body)
					return
				}
				switch p.Type {
				case "urn:concertsys:problem:sold-out":
					return
				case "urn:concertsys:problem:not-enough-tickets":
					q = 1
				case "urn:concertsys:problem:concurrent-modification":
					contention.Add(1)
				default:
					t.Errorf("unexpected problem %+v", p)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(capacity), sold.Load(), "got %d tickets sold in successful responses want %d", sold.Load(), capacity)

	evs := first.history(t, id)
	total, soldOuts := 0, 0
	for i, e := range evs {
		require.Equal(t, int64(i+1), e.Version)
		switch e.EventType {
		case concertevents.TicketsSold:
			var d concertevents.TicketsSoldV1
			require.NoError(t, json.Unmarshal(e.Data, &d))
			total += d.Quantity
			require.Equal(t, total, d.TicketsSold)
			require.Equal(t, capacity-total, d.TicketsAvailable)
		case concertevents.ConcertSoldOut:
			soldOuts++
			require.Equal(t, concertevents.TicketsSold, evs[i-1].EventType)
		}
	}
	require.Equal(t, capacity, total, "got %d sold in the log want %d", total, capacity)
	require.Equal(t, 1, soldOuts)
	t.Logf("%d events, %d contention answers", len(evs), contention.Load())
}

// TestInstancesSeeEachOthersWrites: a cached concert catches up with what another
// instance appended, so rules and If-Match always apply to the latest version.
func TestInstancesSeeEachOthersWrites(t *testing.T) {
	a := newHarness(t, options{})
	b := newHarness(t, options{log: a.log})
	id := a.schedule(t, 5)
	requireResult(t, a.do(t, ports.RouteTickets, id, `{"quantity":2}`, nil), 200, id, 2) // a caches version 2
	requireResult(t, b.do(t, ports.RouteTickets, id, `{"quantity":2}`, nil), 200, id, 3)
	requireProblem(t, a.do(t, ports.RouteTickets, id, `{"quantity":1}`, map[string]string{"If-Match": `"2"`}), 412, "current version is 3")
	requireProblem(t, a.do(t, ports.RouteTickets, id, `{"quantity":2}`, nil), 409, "2 requested, 1 left")
	requireResult(t, b.do(t, ports.RouteCancel, id, `{"reason":"x"}`, nil), 200, id, 4)
	requireProblem(t, a.do(t, ports.RouteTickets, id, `{"quantity":1}`, nil), 409, "cancelled")
}
