package ports_test

import (
	"context"
	"testing"

	"github.com/concertsys/services/concerts/internal/ports"
)

var fuzzRoutes = []string{ports.RouteSchedule, ports.RouteUpdate, ports.RouteReschedule, ports.RouteTickets, ports.RouteCancel, ports.RouteEvents}

// FuzzHandlers throws arbitrary bodies and header values at every route: no panic,
// no 5xx, every error a problem, and (at cleanup) every event that got accepted
// valid against its schema.
func FuzzHandlers(f *testing.F) {
	seeds := []struct {
		route                           uint8
		body, ifMatch, key, contentType string
		base64                          bool
	}{
		{0, `{"artist":"A","venue":"V","startsAt":"2026-09-12T20:00:00Z","capacity":10,"priceCents":1}`, "", "", "application/json", false},
		{0, `{"artist":"\u0000","venue":"\ud800","startsAt":"2026-09-12T20:00:00.999999999+14:00","capacity":1000000,"priceCents":100000000}`, "", "k1", "application/json", false},
		{0, `{"artist":"A","venue":"V","startsAt":"0000-01-01T00:00:00Z","capacity":-1,"priceCents":-1}`, "", "", "application/json", false},
		{1, `{"artist":"B"}`, `"1"`, "", "application/json; charset=utf-8", false},
		{1, `{"priceCents":1e3}`, `W/"1"`, "", "application/json", false},
		{2, `{"startsAt":"2027-01-01T00:00:00Z"}`, "*", "k2", "application/json", false},
		{3, `{"quantity":1}`, "", "k3", "application/json", false},
		{3, `{"quantity":100}`, `"999999999999999999"`, "", "application/json", false},
		{3, `{"quantity":1`, "", "", "application/json", false},
		{4, `{"reason":"flood"}`, "", "", "text/json", false},
		{4, `eyJyZWFzb24iOiJ4In0=`, "", "", "application/json", true},
		{5, ``, "", "", "", false},
		{3, `[{"quantity":1}]`, "", "", "application/json", false},
		{3, `{"quantity":{"$gt":1}}`, "", "", "application/json", false},
	}
	for _, s := range seeds {
		f.Add(s.route, s.body, s.ifMatch, s.key, s.contentType, s.base64)
	}
	h := newHarness(f, options{})
	id := h.schedule(f, 1000)
	f.Fuzz(func(t *testing.T, route uint8, body, ifMatch, key, contentType string, b64 bool) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		headers := map[string]string{"Content-Type": contentType}
		if ifMatch != "" {
			headers["If-Match"] = ifMatch
		}
		if key != "" {
			headers["Idempotency-Key"] = key
		}
		req := request(r, id, body, headers)
		req.IsBase64Encoded = b64
		resp, err := h.handler(r)(context.Background(), req)
		if err != nil {
			t.Fatalf("got error %v", err)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("got %d: %s", resp.StatusCode, resp.Body)
		}
		if resp.StatusCode >= 400 && resp.Headers["Content-Type"] != "application/problem+json" {
			t.Fatalf("got %d with content type %q", resp.StatusCode, resp.Headers["Content-Type"])
		}
	})
}
