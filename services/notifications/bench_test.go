package notifications_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/queueconsumer"
)

// BenchmarkFanOut measures one ConcertViewUpdated fanned out to N subscribed
// WebSocket connections through the wsgateway management API (real HTTP, real SDK
// client, real WebSocket writes), per store adapter. Each connection costs a claim,
// a PostToConnection and a confirm.
func BenchmarkFanOut(b *testing.B) {
	for _, s := range stores {
		for _, n := range []int{10, 100, 500} {
			for _, conc := range []int{1, 16} {
				if n == 500 && conc == 1 {
					continue // sequential is linear in n: 100 shows it
				}
				b.Run(fmt.Sprintf("%s/connections=%d/concurrency=%d", s.name, n, conc), func(b *testing.B) {
					h := newHarness(b, s.open(b), harnessOptions{concurrency: conc})
					for range n {
						c := h.dial(b)
						c.subscribe("c1")
						go func() {
							for range c.msgs { // drain so the gateway never blocks on a slow reader
							}
						}()
					}
					fan := h.fanOut()
					ctx := context.Background()
					b.ResetTimer()
					for i := range b.N {
						if err := fan(ctx, viewEvent("c1", int64(i+1), "Owls")); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "posts/s")
				})
			}
		}
	}
}

// BenchmarkFanOutStarBatch is the fan-out as its SQS event source mapping runs it
// (queueconsumer): each op is one batch of 10 consecutive versions of one concert,
// delivered to 3 connections subscribed to "*" (which get every concert's updates).
// posts/event counts the PostToConnection calls per event and connection.
func BenchmarkFanOutStarBatch(b *testing.B) {
	const perBatch, conns = 10, 3
	h := newHarness(b, stores[0].open(b), harnessOptions{concurrency: 16})
	var clients []*client
	for range conns {
		c := h.dial(b)
		c.subscribe("*")
		clients = append(clients, c)
		go func() {
			for range c.msgs { // drain so the gateway never blocks on a slow reader
			}
		}()
	}
	handler := queueconsumer.New(h.fanOut(), slog.New(slog.DiscardHandler))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		var batch events.SQSEvent
		for j := range perBatch {
			body, err := json.Marshal(viewEvent("c1", int64(i*perBatch+j+1), "Owls"))
			require.NoError(b, err)
			batch.Records = append(batch.Records, events.SQSMessage{MessageId: fmt.Sprint(j), Body: string(body)})
		}
		resp, err := handler(ctx, batch)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			b.Fatalf("got %v, %v failed, want none", err, resp.BatchItemFailures)
		}
	}
	b.StopTimer()
	h.failMu.Lock()
	posts := 0
	for _, c := range clients {
		posts += h.posts[c.id] - 1 // the subscribe reply
	}
	h.failMu.Unlock()
	b.ReportMetric(float64(posts)/float64(b.N*perBatch*conns), "posts/event/conn")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch), "ns/event")
}
