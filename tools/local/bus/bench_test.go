package bus

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/concertsys/platform/subscription"
)

// BenchmarkPutAndDeliver measures Put plus asynchronous delivery to one rule: the
// clock stops only when every event put has reached the target.
func BenchmarkPutAndDeliver(b *testing.B) {
	detail := json.RawMessage(`{"metadata":{"eventId":"e","aggregateId":"c-1","aggregateVersion":3,"eventType":"TicketsSold"},"data":{"quantity":2}}`)
	for _, store := range []string{"memory", "bbolt"} {
		for _, variant := range []string{"batch=1", "batch=10", "batch=1/archived"} {
			batch := 1
			if variant == "batch=10" {
				batch = 10
			}
			b.Run(store+"/"+variant, func(b *testing.B) {
				opts := Options{}
				if store == "bbolt" {
					opts.DataDir = b.TempDir()
				}
				bus, err := New(opts)
				if err != nil {
					b.Fatal(err)
				}
				defer bus.Close(context.Background())
				if strings.HasSuffix(variant, "/archived") { // devstack's archive of every event
					if _, err := bus.CreateArchive(ArchiveConfig{Name: "all"}); err != nil {
						b.Fatal(err)
					}
				}
				var delivered atomic.Int64
				err = bus.Subscribe(subscription.Subscription{Name: "bench", Pattern: json.RawMessage(`{"source":["concerts"],"detail":{"data":{"quantity":[{"numeric":[">",0]}]}}}`)},
					func(context.Context, events.EventBridgeEvent) error { delivered.Add(1); return nil })
				if err != nil {
					b.Fatal(err)
				}
				entries := make([]Entry, batch)
				for i := range entries {
					entries[i] = Entry{Source: "concerts", DetailType: "TicketsSold", Detail: detail}
				}
				b.ReportAllocs()
				b.ResetTimer()
				var puts atomic.Int64
				b.SetParallelism(4) // several producers, as in devstack (pipe + services)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := bus.Put(context.Background(), entries); err != nil {
							b.Error(err)
							return
						}
						puts.Add(1)
					}
				})
				want := puts.Load() * int64(batch)
				for delivered.Load() < want {
					time.Sleep(100 * time.Microsecond)
				}
				b.StopTimer()
				b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
