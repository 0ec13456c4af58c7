package app_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/queueconsumer"
	"github.com/concertsys/services/projections/internal/adapters/boltviews"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
	"github.com/concertsys/services/projections/viewevents"
)

// A batch's records run concurrently and one concert's share a lane, yet each
// record keeps its own outcome: a bad event fails alone (it stays in the queue and
// reaches the dead-letter queue), the others are applied and deleted.
func TestBatchReportsOnlyTheFailedRecords(t *testing.T) {
	hist := history(t, "c1", 6)
	other := history(t, "c2", 2)
	bad := hist[3]
	bad.Meta.SchemaVersion = 99 // a version this consumer does not read: ErrInvalidEvent
	tests := []struct {
		name       string
		batch      []domain.Event
		wantFailed []string // message ids
		wantViews  map[string]int64
	}{
		{"all good, one concert", hist, nil, map[string]int64{"c1": 6}},
		{"a bad event among its concert's", []domain.Event{hist[0], hist[1], hist[2], bad, other[0], other[1]}, []string{"m3"}, map[string]int64{"c1": 3, "c2": 2}},
		{"a gap fails alone", []domain.Event{hist[0], historygen.WithoutState(hist[2]), other[0]}, []string{"m1"}, map[string]int64{"c1": 1, "c2": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			batch := sqsBatches(t, tt.batch, len(tt.batch))[0]
			resp, err := queueconsumer.New(h.consumer(), discard())(context.Background(), batch)
			require.NoError(t, err)
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			require.Equal(t, tt.wantFailed, got, "got failed %v want %v", got, tt.wantFailed)
			for id, v := range tt.wantViews {
				rec, err := h.views.Get(context.Background(), id)
				require.NoError(t, err)
				require.Equal(t, v, rec.View.Version, "concert %s: got v%d want v%d", id, rec.View.Version, v)
				require.Equal(t, v, rec.PublishedVersion, "concert %s: got published v%d want v%d", id, rec.PublishedVersion, v)
			}
		})
	}
}

// A batch of one hot concert is applied in a few commits and published in a few
// PutEvents, and the bus sees its final version.
func TestBatchOfOneConcertSharesCommitsAndPublishes(t *testing.T) {
	h := newHarness(t)
	hist := history(t, "c1", 10)
	views := h.views.(*boltviews.Store)
	before := views.Commits()
	resp, err := queueconsumer.New(h.consumer(), discard())(context.Background(), sqsBatches(t, hist, 10)[0])
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	commits := views.Commits() - before
	require.Less(t, commits, uint64(len(hist)), "got %d commits for %d events, want them shared", commits, len(hist))
	h.bus.WaitFor(t, func(got []app.ConcertViewUpdated) bool {
		return slices.ContainsFunc(got, func(u app.ConcertViewUpdated) bool { return u.Metadata.AggregateVersion == 10 })
	})
	require.Less(t, len(h.bus.Exchanges()), len(hist), "got %d PutEvents for %d events, want them shared", len(h.bus.Exchanges()), len(hist))
}

// fakePublisher blocks its first call until release is closed, and fails any call
// carrying the event id fail.
type fakePublisher struct {
	entered chan struct{} // closed when the first call is in flight
	release chan struct{}
	fail    string
	once    sync.Once
	mu      sync.Mutex
	calls   [][]string
}

func (f *fakePublisher) PublishConcertViewUpdated(ctx context.Context, evs []app.ConcertViewUpdated) error {
	f.once.Do(func() { close(f.entered); <-f.release })
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.Metadata.AggregateID)
	}
	f.mu.Lock()
	f.calls = append(f.calls, ids)
	f.mu.Unlock()
	if slices.Contains(ids, f.fail) {
		return errors.New("injected")
	}
	return nil
}

// Publishes made while a PutEvents is in flight share the next one (up to 10
// entries); when the shared call fails, each is retried alone, so only the failing
// one's caller sees an error.
func TestConcurrentPublishesShareAPutEvents(t *testing.T) {
	tests := []struct {
		name      string
		fail      string
		wantCalls [][]string
		wantErr   map[string]bool
	}{
		{"all accepted", "", [][]string{{"a"}, {"b", "c", "d"}}, map[string]bool{}},
		{"one fails alone", "c", [][]string{{"a"}, {"b", "c", "d"}, {"b"}, {"c"}, {"d"}}, map[string]bool{"c": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			fake := &fakePublisher{entered: make(chan struct{}), release: make(chan struct{}), fail: tt.fail}
			pub := app.NewViewPublisher(h.views, fake)
			ctx := context.Background()
			ids := []string{"a", "b", "c", "d"}
			for _, id := range ids {
				require.NoError(t, h.views.Put(ctx, app.Record{View: viewOf(id)}, 0))
			}
			errs := make(map[string]error)
			var mu sync.Mutex
			var wg sync.WaitGroup
			publish := func(id string) {
				defer wg.Done()
				err := pub.PublishOwed(ctx, app.Record{View: viewOf(id)})
				mu.Lock()
				errs[id] = err
				mu.Unlock()
			}
			wg.Add(1)
			go publish("a")
			<-fake.entered // a's PutEvents is in flight
			for i, id := range ids[1:] {
				// Queue b, c, d in order behind a.
				wg.Add(1)
				go publish(id)
				require.Eventually(t, func() bool { return app.QueuedPublishes(pub) == i+1 }, 5*time.Second, time.Millisecond)
			}
			close(fake.release)
			wg.Wait()
			require.Equal(t, tt.wantCalls, fake.calls, "got calls %v want %v", fake.calls, tt.wantCalls)
			for _, id := range ids {
				require.Equal(t, tt.wantErr[id], errs[id] != nil, "%s: got error %v", id, errs[id])
			}
		})
	}
}

func viewOf(id string) viewevents.ConcertViewV1 {
	return viewevents.ConcertViewV1{ID: id, Version: 1, Capacity: 1, TicketsAvailable: 1, Status: viewevents.StatusScheduled}
}
