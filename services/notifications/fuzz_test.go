package notifications_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzRouteHandlers sends arbitrary messages to every route handler, as the gateway
// would, over a live connection of the WebSocket API emulator. No input may panic or
// return an error (API Gateway would then answer "Internal server error"), and every
// message to a message route gets exactly one well-formed reply on the connection.
func FuzzRouteHandlers(f *testing.F) {
	seeds := []struct {
		route  uint8
		body   string
		binary bool
		conn   string
	}{
		{2, `{"action":"subscribe","concertId":"c1"}`, false, ""},
		{3, `{"action":"unsubscribe","concertId":"*"}`, false, ""},
		{4, `{"action":"dance"}`, false, ""},
		{4, `not json`, false, ""},
		{4, `eyJhY3Rpb24iOiJzdWJzY3JpYmUifQ==`, true, ""},
		{2, `{"action":"subscribe","concertId":"` + string(make([]byte, 300)) + `"}`, false, ""},
		{2, `{"action":"subscribe","concertId":"c1"}`, false, "unknown-connection"},
		{2, `{"action":"subscribe","concertId":"c1"}`, false, "a/b?c"},
		{1, ``, false, ""},
		{0, ``, false, ""},
		{2, `{"action":"subscribe","concertId":"c2"}`, false, ""},
	}
	for _, s := range seeds {
		f.Add(s.route, s.body, s.binary, s.conn)
	}
	h := newHarness(f, stores[0].open(f), harnessOptions{})
	live := h.dial(f)
	routes := h.svc.WebSocketRoutes
	f.Fuzz(func(t *testing.T, route uint8, body string, binary bool, conn string) {
		r := routes[int(route)%len(routes)]
		id := live.id
		if conn != "" {
			id = conn
		}
		req := events.APIGatewayWebsocketProxyRequest{
			Body:            body,
			IsBase64Encoded: binary,
			RequestContext: events.APIGatewayWebsocketProxyRequestContext{
				RouteKey: r.RouteKey, ConnectionID: id, EventType: "MESSAGE", Stage: "local", APIID: "devstackws",
			},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := r.Handler(ctx, req)
		if err != nil {
			t.Fatalf("route %s: got error %v, want a status code", r.RouteKey, err)
		}
		known := []int{http.StatusOK, http.StatusBadRequest, http.StatusGone, http.StatusInternalServerError, http.StatusBadGateway}
		if !slices.Contains(known, resp.StatusCode) {
			t.Fatalf("route %s: got status %d", r.RouteKey, resp.StatusCode)
		}
		if resp.Body != "" {
			t.Fatalf("route %s: got body %q, want replies only through PostToConnection", r.RouteKey, resp.Body)
		}
		if r.RouteKey == "$connect" || r.RouteKey == "$disconnect" || id != live.id {
			return
		}
		select {
		case data := <-live.msgs:
			var m struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(data, &m); err != nil || !slices.Contains([]string{"subscribed", "unsubscribed", "error"}, m.Type) {
				t.Fatalf("route %s, body %q: got reply %s", r.RouteKey, body, data)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("route %s, body %q: no reply", r.RouteKey, body)
		}
	})
}
