package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/projections/internal/adapters/boltviews"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
)

// benchEvents returns at least n events of generated histories, each concert's in order.
func benchEvents(b *testing.B, n int) []domain.Event {
	r := rand.New(rand.NewPCG(1, 2))
	var out []domain.Event
	for c := 0; len(out) < n; c++ {
		out = append(out, historygen.History(r, fmt.Sprintf("b%06d", c), 30)...)
	}
	return out
}

// BenchmarkApplyDomain is the pure fold: decoding and applying one event.
func BenchmarkApplyDomain(b *testing.B) {
	events := benchEvents(b, 10000)
	views := map[string]*domain.View{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e := events[i%len(events)]
		if e.Meta.AggregateVersion == 1 {
			views[e.Meta.AggregateID] = domain.New(e.Meta.AggregateID)
		}
		if err := views[e.Meta.AggregateID].Apply(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProjectBolt is the consumer's whole path per event on bbolt: decode,
// read the view, conditional write (fsync), publish ConcertViewUpdated through the
// EventBridge SDK to the local bus over HTTP, mark it published (fsync).
func BenchmarkProjectBolt(b *testing.B) {
	h := newHarness(b)
	events := benchEvents(b, b.N)
	handle := h.consumer()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := handle(ctx, historygen.BusEvent(events[i])); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkProjectBoltConcurrent is BenchmarkProjectBolt with 16 consumer invocations
// at once (devstack's bus runs many per rule), each applying its own concerts' events
// in order: the views store's group commit lets them share transactions and fsyncs.
func BenchmarkProjectBoltConcurrent(b *testing.B) {
	const workers = 16
	h := newHarness(b)
	owned := make([][]domain.Event, workers)
	concerts := map[string]int{}
	for _, e := range benchEvents(b, b.N) {
		w, ok := concerts[e.Meta.AggregateID]
		if !ok {
			w = len(concerts) % workers
			concerts[e.Meta.AggregateID] = w
		}
		owned[w] = append(owned[w], e)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			handle := h.consumer()
			for _, e := range owned[w] {
				if errs[w] = handle(ctx, historygen.BusEvent(e)); errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(b, err)
	}
	n := 0
	for _, events := range owned {
		n += len(events)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkProjectBoltDuplicate is a redelivered event: one read, nothing written.
func BenchmarkProjectBoltDuplicate(b *testing.B) {
	h := newHarness(b)
	events := benchEvents(b, 1)
	handle := h.consumer()
	ctx := context.Background()
	ev := historygen.BusEvent(events[0])
	require.NoError(b, handle(ctx, ev))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRebuildBolt is the in-process rebuild: 100k bus events as the archive
// keeps them (EventBridge JSON, in time order, each carrying the concert's state) are
// folded into views with the consumer's rules and written to an empty bbolt view
// store in batches (one commit and fsync per 1,000 views). events/s counts the input
// events; every iteration writes every view.
func BenchmarkRebuildBolt(b *testing.B) {
	ctx := context.Background()
	hist := benchEvents(b, 100_000)
	slices.SortFunc(hist, func(x, y domain.Event) int { return x.Meta.OccurredAt.Compare(y.Meta.OccurredAt) })
	raws := make([][]byte, len(hist))
	size := 0
	for i, e := range hist {
		raws[i] = historygen.ArchivedEvent(e)
		size += len(raws[i])
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		views, err := boltviews.Open(filepath.Join(b.TempDir(), fmt.Sprintf("v%d.db", i)))
		require.NoError(b, err)
		b.StartTimer()
		stats, err := app.NewFoldEvents(views).Handle(ctx, seqOf(raws))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		require.Equal(b, len(raws), stats.Events)
		_ = views.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(raws)*b.N)/b.Elapsed().Seconds(), "events/s")
}
