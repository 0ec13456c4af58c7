package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/queueconsumer"
	"github.com/concertsys/services/projections/internal/adapters/boltviews"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
)

// sqsBatches cuts events into SQS batches of size records, the bodies as a rule's SQS
// target sends them (the whole EventBridge event).
func sqsBatches(t testing.TB, evs []domain.Event, size int) []events.SQSEvent {
	var out []events.SQSEvent
	for start := 0; start < len(evs); start += size {
		var batch events.SQSEvent
		for i, e := range evs[start:min(start+size, len(evs))] {
			body, err := json.Marshal(historygen.BusEvent(e))
			require.NoError(t, err)
			batch.Records = append(batch.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", start+i), Body: string(body)})
		}
		out = append(out, batch)
	}
	return out
}

// interleave takes one event of each concert in turn, so consecutive events are of
// different concerts (each concert's still in order).
func interleave(evs []domain.Event) []domain.Event {
	var order []string
	per := map[string][]domain.Event{}
	for _, e := range evs {
		id := e.Meta.AggregateID
		if _, ok := per[id]; !ok {
			order = append(order, id)
		}
		per[id] = append(per[id], e)
	}
	var out []domain.Event
	for len(out) < len(evs) {
		for _, id := range order {
			if len(per[id]) > 0 {
				out = append(out, per[id][0])
				per[id] = per[id][1:]
			}
		}
	}
	return out
}

// BenchmarkProjectBatch is the consumer as its SQS event source mapping runs it:
// batches of 10 messages through queueconsumer on bbolt, publishing to the local bus
// over HTTP. "one-concert": a batch holds 10 consecutive versions of one concert (a
// hot concert); "ten-concerts": one version of each of 10 concerts. It reports the
// view store's commits (each 2 fsyncs) and the PutEvents calls per event.
func BenchmarkProjectBatch(b *testing.B) {
	for _, tc := range []struct {
		name  string
		order func([]domain.Event) []domain.Event
	}{
		{"one-concert", func(e []domain.Event) []domain.Event { return e }},
		{"ten-concerts", interleave},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHarness(b)
			handler := queueconsumer.New(h.consumer(), discard())
			evs := tc.order(benchEvents(b, b.N))
			batches := sqsBatches(b, evs, 10)
			ctx := context.Background()
			commits0 := h.views.(*boltviews.Store).Commits()
			b.ReportAllocs()
			b.ResetTimer()
			for _, batch := range batches {
				resp, err := handler(ctx, batch)
				if err != nil || len(resp.BatchItemFailures) > 0 {
					b.Fatalf("got %v, %v failed, want none", err, resp.BatchItemFailures)
				}
			}
			b.StopTimer()
			n := float64(len(evs))
			b.ReportMetric(float64(h.views.(*boltviews.Store).Commits()-commits0)/n, "commits/event")
			b.ReportMetric(float64(len(h.bus.Exchanges()))/n, "putevents/event")
			b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
		})
	}
}
