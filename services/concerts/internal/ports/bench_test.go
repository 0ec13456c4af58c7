package ports_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/services/concerts/internal/ports"
)

// BenchmarkSellTickets is one POST /concerts/{id}/tickets through the handler on a
// durable boltlog (load from cache + catch-up read, decide, fsynced append).
func BenchmarkSellTickets(b *testing.B) {
	h := newHarness(b, options{})
	id := h.schedule(b, 1_000_000)
	req := request(ports.RouteTickets, id, `{"quantity":1}`, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := h.http.SellTickets(context.Background(), req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("got %v %d %s", err, resp.StatusCode, resp.Body)
		}
	}
}

// BenchmarkSellTicketsIdempotent adds the Idempotency-Key claim and completion.
func BenchmarkSellTicketsIdempotent(b *testing.B) {
	h := newHarness(b, options{})
	id := h.schedule(b, 1_000_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := request(ports.RouteTickets, id, `{"quantity":1}`, map[string]string{"Idempotency-Key": fmt.Sprintf("k-%d", i)})
		resp, err := h.http.SellTickets(context.Background(), req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("got %v %d %s", err, resp.StatusCode, resp.Body)
		}
	}
}

// BenchmarkSellTicketsParallel is many buyers on one concert in one process: the
// per-concert lock serialises them, boltlog groups their commits.
func BenchmarkSellTicketsParallel(b *testing.B) {
	h := newHarness(b, options{})
	id := h.schedule(b, 1_000_000)
	req := request(ports.RouteTickets, id, `{"quantity":1}`, nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := h.http.SellTickets(context.Background(), req)
			if err != nil || resp.StatusCode != 200 {
				b.Errorf("got %v %d %s", err, resp.StatusCode, resp.Body)
				return
			}
		}
	})
}

// BenchmarkSellTicketsManyConcerts spreads parallel buyers over 64 concerts, so
// appends of different concerts share boltlog commits.
func BenchmarkSellTicketsManyConcerts(b *testing.B) {
	h := newHarness(b, options{})
	reqs := make([]events.APIGatewayV2HTTPRequest, 64)
	for i := range reqs {
		reqs[i] = request(ports.RouteTickets, h.schedule(b, 1_000_000), `{"quantity":1}`, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			resp, err := h.http.SellTickets(context.Background(), reqs[i%len(reqs)])
			if err != nil || resp.StatusCode != 200 {
				b.Errorf("got %v %d %s", err, resp.StatusCode, resp.Body)
				return
			}
		}
	})
}

// BenchmarkEnrich is one stream batch of 3 events into bus details.
func BenchmarkEnrich(b *testing.B) {
	records := readRecordsB(b, "testdata/stream/batch.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ports.Enrich(records); err != nil {
			b.Fatal(err)
		}
	}
}
