package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/services/projections/internal/adapters/boltviews"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/historygen"
)

// generate appends histories to the log until it holds at least n events.
func generate(t testing.TB, h *harness, r *rand.Rand, prefix string, n int) map[string][]eventlog.Event {
	t.Helper()
	out := map[string][]eventlog.Event{}
	for total, c := 0, 0; total < n; c++ {
		hist := historygen.History(r, fmt.Sprintf("%s-%04d", prefix, c), 1+r.IntN(30))
		require.NoError(t, h.log.Append(context.Background(), hist))
		out[hist[0].AggregateID] = hist
		total += len(hist)
	}
	return out
}

func storedJSON(t testing.TB, views app.ViewStore, id string) string {
	t.Helper()
	rec, err := views.Get(context.Background(), id)
	require.NoError(t, err)
	b, err := json.Marshal(struct {
		View              any
		LastEventID       string
		LastCorrelationID string
	}{rec.View, rec.LastEventID, rec.LastCorrelationID})
	require.NoError(t, err)
	return string(b)
}

func TestRebuildIsByteIdenticalToLiveViews(t *testing.T) {
	s := seed(t)
	t.Logf("seed %d (rerun with PROJECTIONS_SEED=%d)", s, s)
	r := rand.New(rand.NewPCG(s, 0xfeed))
	h := newHarness(t)
	ctx := context.Background()
	histories := generate(t, h, r, "c", 3000)

	// Live: every event through the consumer, shuffled and duplicated.
	var deliveries []events.EventBridgeEvent
	for _, hist := range histories {
		for _, e := range hist {
			deliveries = append(deliveries, historygen.BusEvent(e))
			if r.IntN(4) == 0 {
				deliveries = append(deliveries, historygen.BusEvent(e))
			}
		}
	}
	r.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	handle := h.consumer()
	for _, ev := range deliveries {
		require.NoError(t, handle(ctx, ev))
	}

	rebuilt, err := boltviews.Open(filepath.Join(t.TempDir(), "rebuilt.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = rebuilt.Close() })
	stats, err := app.NewRebuild(h.log, h.log, rebuilt).Handle(ctx)
	require.NoError(t, err)
	t.Logf("rebuilt %d concerts from %d events (%d live deliveries)", stats.Concerts, stats.Events, len(deliveries))
	require.GreaterOrEqual(t, stats.Events, 3000)
	require.Equal(t, len(histories), stats.Concerts)
	require.Equal(t, len(histories), stats.Written)
	for id := range histories {
		require.Equal(t, storedJSON(t, h.views, id), storedJSON(t, rebuilt, id), "concert %s", id)
	}

	// Rebuilding over the live store changes nothing and never goes backwards.
	stats, err = app.NewRebuild(h.log, h.log, h.views).Handle(ctx)
	require.NoError(t, err)
	require.Equal(t, len(histories), stats.Written, "equal versions are rewritten (a rebuild after a fix takes effect)")
	for id := range histories {
		require.Equal(t, storedJSON(t, rebuilt, id), storedJSON(t, h.views, id), "concert %s", id)
	}
}

func TestRebuildWhileEventsKeepArriving(t *testing.T) {
	s := seed(t)
	t.Logf("seed %d (rerun with PROJECTIONS_SEED=%d)", s, s)
	r := rand.New(rand.NewPCG(s, 0xbeef))
	h := newHarness(t)
	ctx := context.Background()
	// Histories of which only a prefix is in the log when the rebuild starts; the
	// rest is appended and delivered while it runs.
	var first, later []eventlog.Event
	want := map[string][]eventlog.Event{}
	for c := range 150 {
		hist := historygen.History(r, fmt.Sprintf("c%03d", c), 2+r.IntN(20))
		want[hist[0].AggregateID] = hist
		cut := r.IntN(len(hist))
		first = append(first, hist[:cut]...)
		later = append(later, hist[cut:]...)
	}
	// Live consumer has applied the prefix.
	handle := h.consumer()
	for _, e := range first {
		require.NoError(t, h.log.Append(ctx, []eventlog.Event{e}))
		require.NoError(t, handle(ctx, historygen.BusEvent(e)))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var liveErr error
	go func() {
		defer wg.Done()
		live := h.consumer()
		for _, e := range later {
			if liveErr = h.log.Append(ctx, []eventlog.Event{e}); liveErr != nil {
				return
			}
			if liveErr = live(ctx, historygen.BusEvent(e)); liveErr != nil {
				return
			}
		}
	}()
	for range 3 {
		_, err := app.NewRebuild(h.log, h.log, h.views).Handle(ctx)
		require.NoError(t, err)
	}
	wg.Wait()
	require.NoError(t, liveErr)
	for id, hist := range want {
		rec, err := h.views.Get(ctx, id)
		require.NoError(t, err)
		require.Equal(t, inOrder(t, hist), rec.View, "concert %s", id)
	}
}
