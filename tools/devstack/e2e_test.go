package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/testkit/schemavalidate"
)

type written struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

type view struct {
	ID               string    `json:"id"`
	Artist           string    `json:"artist"`
	Venue            string    `json:"venue"`
	StartsAt         time.Time `json:"startsAt"`
	Capacity         int       `json:"capacity"`
	PriceCents       int64     `json:"priceCents"`
	TicketsSold      int       `json:"ticketsSold"`
	TicketsAvailable int       `json:"ticketsAvailable"`
	Status           string    `json:"status"`
	Version          int64     `json:"version"`
}

type logEvent struct {
	EventID     string          `json:"eventId"`
	AggregateID string          `json:"aggregateId"`
	Version     int64           `json:"version"`
	Type        string          `json:"type"`
	OccurredAt  time.Time       `json:"occurredAt"`
	Data        json.RawMessage `json:"data"`
}

// history reads a concert's whole log through GET /concerts/{id}/events, pageSize
// events a page, following nextCursor to the end.
func history(t *testing.T, base, id string, pageSize int) []logEvent {
	t.Helper()
	var all []logEvent
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10000, "got no end of the history of %s", id)
		u := fmt.Sprintf("%s/concerts/%s/events?limit=%d", base, id, pageSize)
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		res := do(t, http.MethodGet, u, "")
		require.Equal(t, http.StatusOK, res.status, "got %d %s, want 200", res.status, res.body)
		var page struct {
			Events     []logEvent `json:"events"`
			NextCursor string     `json:"nextCursor"`
		}
		res.json(t, &page)
		all = append(all, page.Events...)
		if page.NextCursor == "" {
			return all
		}
		require.Len(t, page.Events, pageSize, "got a short page with a nextCursor")
		cursor = page.NextCursor
	}
}

func future(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }

// wsClient subscribes to "*" on /ws and collects concert.updated messages.
type wsClient struct {
	conn    *websocket.Conn
	updates chan map[string]any
}

func dialWS(t *testing.T, base string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.CloseNow() })
	require.NoError(t, conn.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","concertId":"*"}`)))
	_, msg, err := conn.Read(ctx)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"subscribed","concertId":"*"}`, string(msg))
	c := &wsClient{conn: conn, updates: make(chan map[string]any, 1024)}
	go func() {
		for {
			_, msg, err := conn.Read(context.Background())
			if err != nil {
				close(c.updates)
				return
			}
			var m map[string]any
			if json.Unmarshal(msg, &m) == nil && m["type"] == "concert.updated" {
				c.updates <- m
			}
		}
	}()
	return c
}

// waitVersion waits for a concert.updated of id with at least version.
func (c *wsClient) waitVersion(t *testing.T, id string, version int64) map[string]any {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m, ok := <-c.updates:
			require.True(t, ok, "websocket closed before concert.updated %s v%d", id, version)
			if m["concertId"] == id && int64(m["version"].(float64)) >= version {
				return m
			}
		case <-deadline:
			t.Fatalf("no concert.updated for %s with version >= %d within 15s", id, version)
		}
	}
}

func TestEndToEndAuthOff(t *testing.T) {
	registry := loadSchemas(t)
	p := startDevstack(t, freeAddr(t), "-data", t.TempDir(), "-auth=off")
	bus := startTail(t, p, "")
	ws := dialWS(t, p.url)

	// The live board page and health.
	board := do(t, http.MethodGet, p.url+"/", "")
	require.Equal(t, http.StatusOK, board.status)
	require.Contains(t, string(board.body), "<html")

	// Commands in.
	res := do(t, http.MethodPost, p.url+"/concerts",
		fmt.Sprintf(`{"artist":"The Owls","venue":"Paradiso","startsAt":%q,"capacity":5,"priceCents":4500}`, future(30*24*time.Hour)))
	require.Equal(t, http.StatusCreated, res.status, "POST /concerts: %s", res.body)
	var c written
	res.json(t, &c)
	require.Equal(t, int64(1), c.Version)
	require.Equal(t, "/concerts/"+c.ID, res.header.Get("Location"))
	id := c.ID

	steps := []struct {
		method, path, body string
		wantVersion        int64
	}{
		{http.MethodPatch, "/concerts/" + id, `{"artist":"The Night Owls"}`, 2},
		{http.MethodPost, "/concerts/" + id + "/reschedule", fmt.Sprintf(`{"startsAt":%q}`, future(60*24*time.Hour)), 3},
		{http.MethodPost, "/concerts/" + id + "/tickets", `{"quantity":2}`, 4},
		{http.MethodPost, "/concerts/" + id + "/tickets", `{"quantity":3}`, 6}, // TicketsSold + ConcertSoldOut
	}
	for _, s := range steps {
		res := do(t, s.method, p.url+s.path, s.body)
		require.Equal(t, http.StatusOK, res.status, "%s %s: %s", s.method, s.path, res.body)
		var w written
		res.json(t, &w)
		require.Equal(t, written{ID: id, Version: s.wantVersion}, w, "%s %s", s.method, s.path)
	}
	res = do(t, http.MethodPost, p.url+"/concerts",
		fmt.Sprintf(`{"artist":"Quiet Band","venue":"Melkweg","startsAt":%q,"capacity":100,"priceCents":0}`, future(10*24*time.Hour)))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var c2 written
	res.json(t, &c2)
	res = do(t, http.MethodPost, p.url+"/concerts/"+c2.ID+"/cancel", `{"reason":"venue flooded"}`)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)

	// Bad input gets specific 4xx problems, never a 5xx.
	problems := []struct {
		name, method, path, body string
		headers                  []string
		want                     int
	}{
		{"not json", http.MethodPost, "/concerts", `x`, []string{"Content-Type: text/plain"}, http.StatusUnsupportedMediaType},
		{"malformed", http.MethodPost, "/concerts", `{"artist":`, nil, http.StatusBadRequest},
		{"unknown field", http.MethodPost, "/concerts/" + id + "/tickets", `{"quantity":1,"x":1}`, nil, http.StatusBadRequest},
		{"unknown concert", http.MethodPost, "/concerts/00000000-0000-4000-8000-000000000000/tickets", `{"quantity":1}`, nil, http.StatusNotFound},
		{"sold out", http.MethodPost, "/concerts/" + id + "/tickets", `{"quantity":1}`, nil, http.StatusConflict},
		{"cancelled", http.MethodPatch, "/concerts/" + c2.ID, `{"venue":"Elsewhere"}`, nil, http.StatusConflict},
		{"stale If-Match", http.MethodPatch, "/concerts/" + id, `{"priceCents":1}`, []string{`If-Match: "3"`}, http.StatusPreconditionFailed},
		{"unknown read", http.MethodGet, "/concerts/00000000-0000-4000-8000-000000000000", "", nil, http.StatusNotFound},
		{"bad limit", http.MethodGet, "/concerts?limit=0", "", nil, http.StatusBadRequest},
	}
	for _, pr := range problems {
		t.Run(pr.name, func(t *testing.T) {
			res := do(t, pr.method, p.url+pr.path, pr.body, pr.headers...)
			require.Equal(t, pr.want, res.status, "got %d %s", res.status, res.body)
			require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
		})
	}

	// The log.
	logged := history(t, p.url, id, 2)
	var types []string
	for i, e := range logged {
		require.Equal(t, int64(i+1), e.Version)
		require.Equal(t, id, e.AggregateID)
		types = append(types, e.Type)
	}
	require.Equal(t, []string{"ConcertScheduled", "ConcertUpdated", "ConcertRescheduled", "TicketsSold", "TicketsSold", "ConcertSoldOut"}, types)

	// Events out: every logged event reaches the bus through the pipe and the real
	// enricher, as the log has it, and every event on the bus validates.
	seen := bus.waitUntil(t, "all 6 events of the concert and its sold-out view", func(evs []events.EventBridgeEvent) bool {
		got, soldOutView := map[int64]bool{}, false
		for _, ev := range evs {
			var d envelope.Detail
			if json.Unmarshal(ev.Detail, &d) != nil || d.Metadata.AggregateID != id {
				continue
			}
			if ev.Source == "concerts" {
				got[d.Metadata.AggregateVersion] = true
			}
			if ev.Source == "projections" && d.Metadata.AggregateVersion == 6 {
				soldOutView = true
			}
		}
		return len(got) == 6 && soldOutView
	})
	byVersion := map[int64]events.EventBridgeEvent{}
	for _, ev := range seen {
		var d envelope.Detail
		require.NoError(t, json.Unmarshal(ev.Detail, &d))
		require.Equal(t, d.Metadata.EventType, ev.DetailType, "detail-type must be metadata.eventType")
		require.NoError(t, registry.Validate(ev.Source, ev.DetailType, d.Metadata.SchemaVersion, ev.Detail),
			"%s %s v%d does not validate: %s", ev.Source, ev.DetailType, d.Metadata.SchemaVersion, ev.Detail)
		if ev.Source == "concerts" && d.Metadata.AggregateID == id {
			byVersion[d.Metadata.AggregateVersion] = ev
		}
	}
	for _, e := range logged {
		ev := byVersion[e.Version]
		var d envelope.Detail
		require.NoError(t, json.Unmarshal(ev.Detail, &d))
		require.Equal(t, e.Type, ev.DetailType)
		require.Equal(t, e.EventID, d.Metadata.EventID)
		require.JSONEq(t, string(e.Data), string(d.Data), "data of v%d on the bus differs from the log", e.Version)
	}

	// The consumers' patterns, checked by the bus's TestEventPattern over the SDK,
	// unsigned: devstack answers it for any loopback caller.
	eb := eventbridge.NewFromConfig(aws.Config{
		Region: "us-east-1", Credentials: aws.AnonymousCredentials{},
	}, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(p.url + "/_aws/events") })
	raw, err := json.Marshal(byVersion[4])
	require.NoError(t, err)
	match, err := eb.TestEventPattern(context.Background(), &eventbridge.TestEventPatternInput{
		Event: aws.String(string(raw)), EventPattern: aws.String(`{"source":["concerts"],"detail-type":["TicketsSold"]}`),
	})
	require.NoError(t, err)
	require.True(t, match.Result, "TestEventPattern: TicketsSold event does not match its own pattern")

	// The read model and the WebSocket converge.
	m := ws.waitVersion(t, id, 6)
	require.Equal(t, "soldout", m["view"].(map[string]any)["status"])
	res = do(t, http.MethodGet, p.url+"/concerts/"+id, "")
	require.Equal(t, http.StatusOK, res.status)
	var v view
	res.json(t, &v)
	require.Equal(t, view{ID: id, Artist: "The Night Owls", Venue: "Paradiso", StartsAt: v.StartsAt, Capacity: 5,
		PriceCents: 4500, TicketsSold: 5, TicketsAvailable: 0, Status: "soldout", Version: 6}, v)
	require.Equal(t, `"6"`, res.header.Get("ETag"))
	eventually(t, "cancelled concert in the read model", func() error {
		res := do(t, http.MethodGet, p.url+"/concerts?status=cancelled", "")
		if !strings.Contains(string(res.body), c2.ID) {
			return fmt.Errorf("GET /concerts?status=cancelled: %s", res.body)
		}
		return nil
	})

	// A clean shutdown exits 0.
	require.NoError(t, p.stop(syscall.SIGTERM))
}

func TestEndToEndAuthOn(t *testing.T) {
	data := t.TempDir()
	p := startDevstack(t, freeAddr(t), "-data", data) // auth is on by default
	out, err := exec.Command(devstackBin, "token", "-data", data).Output()
	require.NoError(t, err)
	token := strings.TrimSpace(string(out))
	require.Equal(t, 2, strings.Count(token, "."), "token %q is not a JWT", token)
	mint := func(args ...string) string {
		out, err := exec.Command(devstackBin, append([]string{"token", "-data", data}, args...)...).Output()
		require.NoError(t, err)
		return strings.TrimSpace(string(out))
	}
	// Expiry is checked in tools/local/localauth with a controlled clock.
	noGroup := mint("-groups", "")
	otherGroup := mint("-groups", "fans")
	foreign := mint("-data", t.TempDir()) // signed with another data directory's key

	body := fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":10,"priceCents":100}`, future(24*time.Hour))
	tests := []struct {
		name    string
		headers []string
		want    int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"garbage token", []string{"Authorization: Bearer abc.def.ghi"}, http.StatusUnauthorized},
		{"token signed by another key", []string{"Authorization: Bearer " + foreign}, http.StatusUnauthorized},
		{"not a bearer token", []string{"Authorization: Basic " + token}, http.StatusUnauthorized},
		{"token without a group", []string{"Authorization: Bearer " + noGroup}, http.StatusForbidden},
		{"token of another group", []string{"Authorization: Bearer " + otherGroup}, http.StatusForbidden},
		{"organizer token", []string{"Authorization: Bearer " + token}, http.StatusCreated},
	}
	var id string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, http.MethodPost, p.url+"/concerts", body, tt.headers...)
			require.Equal(t, tt.want, res.status, "%s", res.body)
			if res.status == http.StatusCreated {
				var w written
				res.json(t, &w)
				id = w.ID
			}
		})
	}
	require.NotEmpty(t, id)
	// Reads are public.
	eventually(t, "public read of the new concert", func() error {
		res := do(t, http.MethodGet, p.url+"/concerts/"+id, "")
		if res.status != http.StatusOK {
			return fmt.Errorf("GET: %d %s", res.status, res.body)
		}
		return nil
	})
	require.NoError(t, p.stop(syscall.SIGINT))

	// The key lives in the data directory: the token still works after a restart.
	p = startDevstack(t, p.addr, "-data", data)
	res := do(t, http.MethodPost, p.url+"/concerts/"+id+"/tickets", `{"quantity":1}`, "Authorization: Bearer "+token)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	require.NoError(t, p.stop(syscall.SIGTERM))
}

func loadSchemas(t *testing.T) *schemavalidate.Registry {
	t.Helper()
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	reg, err := schemavalidate.Load(dir)
	require.NoError(t, err)
	return reg
}
