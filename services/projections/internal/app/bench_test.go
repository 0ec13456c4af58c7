package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/services/projections/internal/adapters/boltviews"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
)

// benchEvents returns at least n events of generated histories, in log order.
func benchEvents(b *testing.B, n int) []eventlog.Event {
	r := rand.New(rand.NewPCG(1, 2))
	var out []eventlog.Event
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
		if e.Version == 1 {
			views[e.AggregateID] = domain.New(e.AggregateID)
		}
		if err := views[e.AggregateID].Apply(domain.FromLog(e)); err != nil {
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
	owned := make([][]eventlog.Event, workers)
	concerts := map[string]int{}
	for _, e := range benchEvents(b, b.N) {
		w, ok := concerts[e.AggregateID]
		if !ok {
			w = len(concerts) % workers
			concerts[e.AggregateID] = w
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

// BenchmarkRebuildBolt rebuilds 10k events from a bbolt log into an empty bbolt store.
func BenchmarkRebuildBolt(b *testing.B) {
	h := newHarness(b)
	ctx := context.Background()
	events := benchEvents(b, 10000)
	for start := 0; start < len(events); {
		end := start + 1
		for end < len(events) && events[end].AggregateID == events[start].AggregateID {
			end++
		}
		require.NoError(b, h.log.Append(ctx, events[start:end]))
		start = end
	}
	b.ResetTimer()
	for i := range b.N {
		views, err := boltviews.Open(filepath.Join(b.TempDir(), fmt.Sprintf("v%d.db", i)))
		require.NoError(b, err)
		if _, err := app.NewRebuild(h.log, h.log, views).Handle(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = views.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(events)*b.N)/b.Elapsed().Seconds(), "events/s")
}
