package app_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/services/projections/internal/adapters/boltviews"
	"github.com/concertsys/services/projections/internal/adapters/ebreplay"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
	"github.com/concertsys/services/projections/internal/publishtest"
	"github.com/concertsys/tools/local/bus"
)

// generate returns histories of at least n events in all; the first events of every
// third concert are as published before events carried their state.
func generate(r *rand.Rand, prefix string, n int) map[string][]domain.Event {
	out := map[string][]domain.Event{}
	for total, c := 0, 0; total < n; c++ {
		hist := historygen.History(r, fmt.Sprintf("%s-%04d", prefix, c), 1+r.IntN(30))
		if c%3 == 0 {
			for i := range hist[:len(hist)/2] {
				hist[i] = historygen.WithoutState(hist[i])
			}
		}
		out[hist[0].Meta.AggregateID] = hist
		total += len(hist)
	}
	return out
}

// archived is every event as the bus archive keeps it: EventBridge JSON, by time.
func archived(histories map[string][]domain.Event) [][]byte {
	var all []domain.Event
	for _, h := range histories {
		all = append(all, h...)
	}
	slices.SortFunc(all, func(a, b domain.Event) int {
		return cmp.Or(a.Meta.OccurredAt.Compare(b.Meta.OccurredAt), cmp.Compare(a.Meta.EventID, b.Meta.EventID))
	})
	out := make([][]byte, len(all))
	for i, e := range all {
		out[i] = historygen.ArchivedEvent(e)
	}
	return out
}

func seqOf(raws [][]byte) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for _, raw := range raws {
			if !yield(raw, nil) {
				return
			}
		}
	}
}

// deliverAll hands every delivery to handle, redelivering failures later (as
// EventBridge retries), until all succeed.
func deliverAll(t testing.TB, handle func(context.Context, events.EventBridgeEvent) error, q []events.EventBridgeEvent) {
	t.Helper()
	limit := 10 * (len(q) + 1)
	for attempts := 0; len(q) > 0; attempts++ {
		require.Less(t, attempts, limit, "deliveries keep failing: %d left", len(q))
		ev := q[0]
		q = q[1:]
		if handle(context.Background(), ev) != nil {
			q = append(q, ev)
		}
	}
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

func openViews(t testing.TB, name string) *boltviews.Store {
	t.Helper()
	views, err := boltviews.Open(filepath.Join(t.TempDir(), name))
	require.NoError(t, err)
	t.Cleanup(func() { _ = views.Close() })
	return views
}

func TestRebuildIsByteIdenticalToLiveViews(t *testing.T) {
	s := seed(t)
	t.Logf("seed %d (rerun with PROJECTIONS_SEED=%d)", s, s)
	r := rand.New(rand.NewPCG(s, 0xfeed))
	h := newHarness(t)
	ctx := context.Background()
	histories := generate(r, "c", 3000)

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
	deliverAll(t, h.consumer(), deliveries)

	archive := archived(histories)
	shuffled := slices.Clone(archive) // a replay need not keep the archive's order
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, tc := range []struct {
		name  string
		input [][]byte
		chunk int
	}{
		{"archive order, one chunk", archive, 0},
		{"archive order, small chunks", archive, 7},
		{"shuffled, small chunks", shuffled, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rebuilt := openViews(t, "rebuilt.db")
			fold := app.NewFoldEvents(rebuilt)
			if tc.chunk > 0 {
				app.SetFoldChunk(fold, tc.chunk)
			}
			stats, err := fold.Handle(ctx, seqOf(tc.input))
			require.NoError(t, err)
			t.Logf("%+v (%d live deliveries)", stats, len(deliveries))
			require.Equal(t, len(archive), stats.Events)
			require.Equal(t, len(histories), stats.Concerts)
			for id := range histories {
				require.Equal(t, storedJSON(t, h.views, id), storedJSON(t, rebuilt, id), "concert %s", id)
			}
		})
	}

	// Folding over the live store changes nothing and never goes backwards.
	stats, err := app.NewFoldEvents(h.views).Handle(ctx, seqOf(archive))
	require.NoError(t, err)
	require.Equal(t, len(histories), stats.Written, "equal versions are rewritten (a rebuild after a fix takes effect)")
	require.Less(t, stats.Decoded, stats.Events, "events covered by a later state are not decoded")
	requireInOrder(t, h.views, histories)
}

func TestFoldIgnoresOtherEventsAndReportsBadOnes(t *testing.T) {
	ctx := context.Background()
	hist := historygen.History(rand.New(rand.NewPCG(7, 7)), "c1", 6)
	require.GreaterOrEqual(t, len(hist), 3)
	bad := hist[len(hist)-1]
	bad.Data = []byte(`{"state":{"artist":"A"}}`) // a state without its required fields
	other := historygen.BusEvent(hist[0])
	other.Source = "elsewhere"
	otherRaw, err := json.Marshal(other)
	require.NoError(t, err)
	input := [][]byte{otherRaw, []byte(`{"not":"an event"`), []byte(`[]`)}
	for _, e := range hist[:len(hist)-1] {
		input = append(input, historygen.ArchivedEvent(e))
	}
	input = append(input, historygen.ArchivedEvent(bad))

	views := openViews(t, "views.db")
	stats, err := app.NewFoldEvents(views).Handle(ctx, seqOf(input))
	require.ErrorIs(t, err, domain.ErrInvalidEvent, "got %v, want the bad event reported", err)
	require.Equal(t, 3, stats.Ignored)
	require.Equal(t, 1, stats.Written, "the other views are written before the error is reported")
	rec, err := views.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, inOrder(t, hist[:len(hist)-1]), rec.View, "the view stops before the bad event, as the consumer's")
}

// TestFoldReportsASourceThatYieldsOnce: a concert that needs the second pass is
// reported, not dropped, when the events do not come again.
func TestFoldReportsASourceThatYieldsOnce(t *testing.T) {
	hist := historygen.History(rand.New(rand.NewPCG(9, 9)), "once", 4)
	hist[len(hist)-1].Data = []byte(`{"state":{"artist":"A"}}`) // the newest does not apply
	raws := make([][]byte, len(hist))
	for i, e := range hist {
		raws[i] = historygen.ArchivedEvent(e)
	}
	used := false
	once := func(yield func([]byte, error) bool) {
		if used {
			return
		}
		used = true
		for _, raw := range raws {
			if !yield(raw, nil) {
				return
			}
		}
	}
	_, err := app.NewFoldEvents(openViews(t, "views.db")).Handle(context.Background(), once)
	require.ErrorContains(t, err, "yielded a second time", "got %v", err)
}

func TestRebuildWhileEventsKeepArriving(t *testing.T) {
	s := seed(t)
	t.Logf("seed %d (rerun with PROJECTIONS_SEED=%d)", s, s)
	r := rand.New(rand.NewPCG(s, 0xbeef))
	h := newHarness(t)
	ctx := context.Background()
	// Histories of which only a prefix is archived when the rebuild starts; the
	// rest is delivered while it runs.
	var first, later []domain.Event
	want := map[string][]domain.Event{}
	for c := range 150 {
		hist := historygen.History(r, fmt.Sprintf("c%03d", c), 2+r.IntN(20))
		want[hist[0].Meta.AggregateID] = hist
		cut := r.IntN(len(hist))
		first = append(first, hist[:cut]...)
		later = append(later, hist[cut:]...)
	}
	handle := h.consumer()
	for _, e := range first {
		require.NoError(t, handle(ctx, historygen.BusEvent(e)))
	}
	archive := make([][]byte, len(first))
	for i, e := range first {
		archive[i] = historygen.ArchivedEvent(e)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var liveErr error
	go func() {
		defer wg.Done()
		live := h.consumer()
		for _, e := range later {
			if liveErr = live(ctx, historygen.BusEvent(e)); liveErr != nil {
				return
			}
		}
	}()
	for range 3 {
		_, err := app.NewFoldEvents(h.views).Handle(ctx, seqOf(archive))
		require.NoError(t, err)
	}
	wg.Wait()
	require.NoError(t, liveErr)
	requireInOrder(t, h.views, want)
}

// requireInOrder requires every concert's view to be its history's in-order fold.
func requireInOrder(t testing.TB, views app.ViewStore, histories map[string][]domain.Event) {
	t.Helper()
	for id, hist := range histories {
		rec, err := views.Get(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, inOrder(t, hist), rec.View, "concert %s", id)
	}
}

// TestRebuildReplaysTheArchiveToItsRule: a consumer subscribed after the events were
// published catches up through rebuild-projections' replay of the bus archive (to its
// rule only, through the AWS SDK and devstack's IAM), ending byte-identical to the
// consumer that saw them live.
func TestRebuildReplaysTheArchiveToItsRule(t *testing.T) {
	ctx := context.Background()
	live := newHarness(t)
	pattern := json.RawMessage(`{"source":["concerts"]}`)
	require.NoError(t, live.bus.Local.Subscribe(subscription.Subscription{Name: "projections-live", Pattern: pattern}, live.consumer()))
	histories := generate(rand.New(rand.NewPCG(3, 3)), "r", 300)
	for _, hist := range histories {
		for _, e := range hist {
			ev := historygen.BusEvent(e)
			res, err := live.bus.Local.Put(ctx, []bus.Entry{{Source: ev.Source, DetailType: ev.DetailType, Detail: ev.Detail, Time: ev.Time}})
			require.NoError(t, err)
			require.Empty(t, res[0].ErrorCode)
		}
	}
	waitViews(t, live.views, histories)

	// A second read model, subscribed now: it has seen nothing.
	late := &harness{views: openViews(t, "late.db"), bus: live.bus}
	require.NoError(t, live.bus.Local.Subscribe(subscription.Subscription{Name: "projections-late", Pattern: pattern}, late.consumer()))
	b := live.bus.Local
	replayer := ebreplay.New(live.bus.Client, ebreplay.Target{ArchiveARN: b.ArchiveARN(publishtest.ArchiveName),
		EventBusARN: b.ARN(), RuleARN: b.RuleARN("projections-late")})
	res, err := app.NewRebuild(replayer, nil, 10*time.Millisecond).Handle(ctx)
	require.NoError(t, err)
	require.Equal(t, app.ReplayCompleted, res.State, "replay %+v", res)
	waitViews(t, late.views, histories)
	for id := range histories {
		require.Equal(t, storedJSON(t, live.views, id), storedJSON(t, late.views, id), "concert %s", id)
	}
	for _, r := range b.Replays() {
		require.Equal(t, []string{b.RuleARN("projections-late")}, r.FilterARNs, "replay %s goes to the late rule only", r.Name)
	}

	// A replay that cannot start is the job's error.
	bad := ebreplay.New(live.bus.Client, ebreplay.Target{ArchiveARN: b.ArchiveARN("nope"), EventBusARN: b.ARN(), RuleARN: b.RuleARN("projections-late")})
	_, err = app.NewRebuild(bad, nil, 10*time.Millisecond).Handle(ctx)
	require.ErrorContains(t, err, "start replay")
}

// waitViews waits until every concert's view is at its history's last version
// (delivery is asynchronous) and equals the in-order fold.
func waitViews(t testing.TB, views app.ViewStore, histories map[string][]domain.Event) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for id, hist := range histories {
		for {
			rec, err := views.Get(context.Background(), id)
			if err == nil && rec.View.Version == hist[len(hist)-1].Meta.AggregateVersion {
				require.Equal(t, inOrder(t, hist), rec.View, "concert %s", id)
				break
			}
			require.True(t, time.Now().Before(deadline), "concert %s not caught up in time", id)
			time.Sleep(10 * time.Millisecond)
		}
	}
}
