package notifications_test

import (
	"context"
	"fmt"
	"testing"
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
