package notifications_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/testkit/dynamotest"
	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/notifications/embedded"
	"github.com/concertsys/tools/local/wsgateway"
)

// stores are the adapters the end-to-end tests run against.
var stores = []struct {
	name string
	open func(t testing.TB) notifications.Store
}{
	{"bbolt", func(t testing.TB) notifications.Store {
		st, err := embedded.OpenStore(filepath.Join(t.TempDir(), "connections.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
	{"dynamodb-minidyn", func(t testing.TB) notifications.Store {
		b := dynamotest.Minidyn(t)
		require.NoError(t, notifications.CreateDynamoTable(context.Background(), b.Client, "connections"))
		return notifications.NewDynamoStore(b.Client, "connections")
	}},
}

// clock is a settable time source.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// harness runs the service behind wsgateway (the WebSocket API emulator and its
// management API) in an httptest server, with the real SDK management client.
type harness struct {
	svc   service.Service
	gw    *wsgateway.Gateway
	srv   *httptest.Server
	store notifications.Store
	clock *clock
	// failPosts makes the management API answer 500 for these connection ids, in
	// front of the real implementation, to exercise retries.
	failMu    sync.Mutex
	failPosts map[string]bool
	// posts counts the management API's POSTs per connection id.
	posts map[string]int
}

type harnessOptions struct {
	concurrency int
	// maxConnections raises the gateway's connection limits (total and per client
	// address) when set; 0 keeps its defaults.
	maxConnections int
	// batches, when set, is the fan-out queue (the fan-out splits into it).
	batches  notifications.BatchQueue
	perBatch int
}

func newHarness(t testing.TB, store notifications.Store, opts harnessOptions) *harness {
	t.Helper()
	h := &harness{store: store, clock: newClock(), failPosts: map[string]bool{}, posts: map[string]int{}}
	mux := http.NewServeMux()
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	mgmt := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(h.srv.URL + "/_aws/ws"),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1, // the tests inject failures; SDK backoff would only slow them
	})
	svc, err := notifications.New(context.Background(), notifications.Deps{
		Store: store, Management: mgmt, Now: h.clock.Now, Logger: slog.New(slog.DiscardHandler), FanOutConcurrency: opts.concurrency,
		FanOutQueue: opts.batches, FanOutBatchConnections: opts.perBatch,
	})
	require.NoError(t, err)
	h.svc = svc
	h.gw, err = wsgateway.New(svc.WebSocketRoutes, wsgateway.Options{MaxConnections: opts.maxConnections, MaxConnectionsPerClient: opts.maxConnections})
	require.NoError(t, err)
	t.Cleanup(func() {
		// Closing runs every connection's $disconnect; many connections take a while.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = h.gw.Close(ctx)
	})
	mux.Handle("/ws", h.gw)
	mgmtHandler := h.gw.ManagementHandler()
	mux.Handle("/_aws/ws/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		h.failMu.Lock()
		fail := h.failPosts[id]
		if r.Method == http.MethodPost {
			h.posts[id]++
		}
		h.failMu.Unlock()
		if fail && r.Method == http.MethodPost {
			w.Header().Set("X-Amzn-ErrorType", "InternalServerErrorException")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"injected"}`))
			return
		}
		mgmtHandler.ServeHTTP(w, r)
	}))
	return h
}

func (h *harness) setFail(id string, fail bool) {
	h.failMu.Lock()
	defer h.failMu.Unlock()
	h.failPosts[id] = fail
}

func (h *harness) fanOut() func(context.Context, events.EventBridgeEvent) error {
	return h.svc.Consumers[0].Handler
}

// client is one WebSocket client of the gateway.
type client struct {
	t    testing.TB
	id   string
	ws   *websocket.Conn
	msgs chan []byte
}

func (h *harness) dial(t testing.TB) *client {
	t.Helper()
	before := h.gw.ConnectionIDs()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/ws", nil)
	require.NoError(t, err)
	ws.SetReadLimit(1 << 20)
	c := &client{t: t, ws: ws, msgs: make(chan []byte, 1024)}
	t.Cleanup(func() { _ = ws.CloseNow() })
	go func() {
		defer close(c.msgs)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			c.msgs <- data
		}
	}()
	// The gateway registers the connection right after the handshake.
	require.Eventually(t, func() bool {
		for _, id := range h.gw.ConnectionIDs() {
			if !slices.Contains(before, id) {
				c.id = id
				return true
			}
		}
		return false
	}, 5*time.Second, time.Millisecond, "connection id never appeared")
	return c
}

func (c *client) send(body string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(c.t, c.ws.Write(ctx, websocket.MessageText, []byte(body)))
}

// next is the next message the client received, decoded.
func (c *client) next() map[string]any {
	c.t.Helper()
	select {
	case data, ok := <-c.msgs:
		require.True(c.t, ok, "connection closed while waiting for a message")
		var m map[string]any
		require.NoError(c.t, json.Unmarshal(data, &m), "message %s", data)
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no message within 5s")
		return nil
	}
}

// subscribe subscribes and checks the reply.
func (c *client) subscribe(topic string) {
	c.t.Helper()
	c.send(fmt.Sprintf(`{"action":"subscribe","concertId":%q}`, topic))
	require.Equal(c.t, map[string]any{"type": "subscribed", "concertId": topic}, c.next())
}

// expectNothingPending proves no message is queued: posts are synchronous, so any
// earlier push would arrive before the reply to a fresh request.
func (c *client) expectNothingPending() {
	c.t.Helper()
	c.send(`{"action":"unsubscribe","concertId":"probe"}`)
	got := c.next()
	require.Equal(c.t, map[string]any{"type": "unsubscribed", "concertId": "probe"}, got, "got %v, want only the probe reply", got)
}

// viewEvent is a ConcertViewUpdated as EventBridge delivers it.
func viewEvent(concertID string, version int64, artist string) events.EventBridgeEvent {
	detail, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{
			"eventId": fmt.Sprintf("ev-%s-%d", concertID, version), "aggregateId": concertID, "aggregateVersion": version,
			"eventType": "ConcertViewUpdated", "schemaVersion": 1, "occurredAt": "2026-05-01T18:04:00Z",
			"correlationId": "req-1", "causationId": "cause-1",
		},
		"data": map[string]any{
			"id": concertID, "artist": artist, "venue": "Paradiso", "startsAt": "2026-09-13T20:00:00Z", "capacity": 1500,
			"priceCents": 4500, "ticketsSold": version, "ticketsAvailable": 1500 - version, "status": "scheduled",
			"version": version, "updatedAt": "2026-05-01T18:04:00Z",
		},
	})
	return events.EventBridgeEvent{
		Version: "0", ID: fmt.Sprintf("eb-%s-%d", concertID, version), DetailType: "ConcertViewUpdated", Source: "projections",
		AccountID: "000000000000", Time: time.Date(2026, 5, 1, 18, 4, 0, 0, time.UTC), Region: "us-east-1", Detail: detail,
	}
}
