package eventsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
	"github.com/concertsys/tools/local/internal/cputime"
)

// BenchmarkPutEventsSDK measures PutEvents through the real SDK client over loopback
// HTTP into an in-memory or bbolt bus, until every event reached its target;
// cpu-ns/op is what one call costs client, server and bus together.
func BenchmarkPutEventsSDK(b *testing.B) {
	for _, store := range []string{"memory", "bbolt"} {
		for _, batch := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/batch=%d", store, batch), func(b *testing.B) {
				opts := bus.Options{}
				if store == "bbolt" {
					opts.DataDir = b.TempDir()
				}
				bb, err := bus.New(opts)
				if err != nil {
					b.Fatal(err)
				}
				defer bb.Close(context.Background())
				var delivered atomic.Int64
				if err := bb.Subscribe(subscription.Subscription{Name: "bench", Pattern: json.RawMessage(`{"source":["concerts"]}`)},
					func(context.Context, events.EventBridgeEvent) error { delivered.Add(1); return nil }); err != nil {
					b.Fatal(err)
				}
				mux := http.NewServeMux()
				mux.Handle("/_aws/events", eventsapi.NewHandler(bb))
				srv := httptest.NewServer(mux)
				defer srv.Close()
				client := newClient(srv.URL + "/_aws/events")
				entries := make([]types.PutEventsRequestEntry, batch)
				for i := range entries {
					entries[i] = types.PutEventsRequestEntry{Source: aws.String("concerts"), DetailType: aws.String("TicketsSold"),
						Detail: aws.String(`{"metadata":{"eventId":"e","aggregateId":"c-1","aggregateVersion":3},"data":{"quantity":2}}`)}
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cputime.Start()
				var puts atomic.Int64
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						out, err := client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: entries})
						if err != nil || out.FailedEntryCount != 0 {
							b.Errorf("put: %v %v", err, out)
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
				cpu.ReportPerOp(b, int(puts.Load()))
				b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
