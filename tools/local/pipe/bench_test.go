package pipe_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/boltlog"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/pipe"
)

// BenchmarkPipe measures events per second from the event log to a bus subscriber:
// feed read, enrichment through the Lambda JSON path, durable bus put, checkpoint.
func BenchmarkPipe(b *testing.B) {
	for _, durable := range []bool{false, true} {
		b.Run(fmt.Sprintf("durable=%v", durable), func(b *testing.B) {
			dir := b.TempDir()
			log, err := boltlog.Open(filepath.Join(dir, "events.db"))
			require.NoError(b, err)
			defer log.Close()
			busDir, cp := "", pipe.Checkpoint(&pipe.MemoryCheckpoint{})
			if durable {
				busDir, cp = filepath.Join(dir, "bus"), pipe.NewFileCheckpoint(filepath.Join(dir, "cp"))
			}
			bs, err := bus.New(bus.Options{Name: "bench", DataDir: busDir, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(b, err)
			defer bs.Close(context.Background())
			delivered := make(chan struct{}, 1024)
			require.NoError(b, bs.Subscribe(subscription.Subscription{Name: "all", Pattern: json.RawMessage(`{"source":["concerts"]}`)},
				func(context.Context, events.EventBridgeEvent) error { delivered <- struct{}{}; return nil }))

			// Appends of 100 events each keep the log out of the measurement's way.
			for v := 0; v < b.N; v += eventlog.MaxBatchEvents {
				n := min(eventlog.MaxBatchEvents, b.N-v)
				batch := make([]eventlog.Event, n)
				for i := range batch {
					batch[i] = eventlog.Event{AggregateID: "c1", Version: int64(v + i + 1), EventID: fmt.Sprint(v + i),
						EventType: "TicketsSold", SchemaVersion: 1, OccurredAt: time.Now(), Data: json.RawMessage(`{"quantity":1}`)}
				}
				require.NoError(b, log.Append(context.Background(), batch))
			}
			b.ResetTimer()
			p, err := pipe.Start(pipe.Config{Feed: log, Bus: bs, Source: "concerts", Checkpoint: cp,
				Enricher: service.Enricher{Function: "enrich-events", Handler: enrichRecords},
				Logger:   slog.New(slog.DiscardHandler)})
			require.NoError(b, err)
			for range b.N {
				<-delivered
			}
			b.StopTimer()
			require.NoError(b, p.Close(context.Background()))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
