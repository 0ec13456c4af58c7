package ports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/testkit/schemavalidate"
	"github.com/concertsys/tools/local/boltlog"
	"github.com/concertsys/tools/local/pipe"

	"github.com/concertsys/services/concerts/concertevents"
	"github.com/concertsys/services/concerts/internal/adapters/boltidempotency"
	"github.com/concertsys/services/concerts/internal/app"
	"github.com/concertsys/services/concerts/internal/ports"
)

var (
	base     = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	startsAt = "2026-09-12T20:00:00Z"
)

// clock is a settable time source shared by the handlers of a harness.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type harness struct {
	http  *ports.HTTP
	log   *boltlog.Log
	idem  *boltidempotency.Store
	clock *clock
	seq   atomic.Int64
}

type options struct {
	wrap func(eventlog.Log) eventlog.Log // fault injection around the real log
	log  *boltlog.Log                    // share a log between harnesses
	// snapshots, when set, is the repository's snapshot store, taken every
	// snapshotEvery events.
	snapshots     eventlog.SnapshotStore
	snapshotEvery int
}

// newHarness builds the handlers on a real boltlog and bbolt idempotency store in
// t.TempDir(). At cleanup every event the test left in the log goes through the
// stream-record path devstack uses (pipe.StreamRecord, JSON, the enricher) and must
// validate against schemas/.
func newHarness(t testing.TB, opts options) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{clock: &clock{}, log: opts.log}
	h.clock.Set(base)
	if h.log == nil {
		l, err := boltlog.Open(filepath.Join(dir, "log.db"))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, l.Close()) })
		h.log = l
		t.Cleanup(func() { validateLog(t, l) })
	}
	idem, err := boltidempotency.Open(filepath.Join(dir, "idem.db"), base)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, idem.Close()) })
	h.idem = idem
	var log eventlog.Log = h.log
	if opts.wrap != nil {
		log = opts.wrap(log)
	}
	logger := slog.New(slog.DiscardHandler)
	repo, err := app.NewRepository(log, h.clock.Now, h.newID, 0)
	require.NoError(t, err)
	if opts.snapshots != nil {
		repo.UseSnapshots(opts.snapshots, opts.snapshotEvery, func(err error) { t.Errorf("snapshot: %v", err) })
	}
	h.http = ports.NewHTTP(ports.UseCases{
		ScheduleConcert:   app.NewScheduleConcert(repo, h.clock.Now),
		UpdateConcert:     app.NewUpdateConcert(repo),
		RescheduleConcert: app.NewRescheduleConcert(repo, h.clock.Now),
		SellTickets:       app.NewSellTickets(repo, h.clock.Now),
		CancelConcert:     app.NewCancelConcert(repo),
		GetConcertEvents:  app.NewGetConcertEvents(log),
	}, ports.NewIdempotency(idem, app.NewFindCaused(log), h.clock.Now, h.newID, logger), h.newID, logger)
	return h
}

func (h *harness) newID() string { return fmt.Sprintf("id-%06d", h.seq.Add(1)) }

var (
	schemasOnce sync.Once
	schemas     *schemavalidate.Registry
	schemasErr  error
)

func validateLog(t testing.TB, l *boltlog.Log) {
	t.Helper()
	schemasOnce.Do(func() {
		dir, err := schemavalidate.FindSchemasDir()
		if err != nil {
			schemasErr = err
			return
		}
		schemas, schemasErr = schemavalidate.Load(dir)
	})
	require.NoError(t, schemasErr)
	entries, err := l.ReadFeed(context.Background(), 0, 1_000_000)
	require.NoError(t, err)
	if len(entries) == 0 {
		return
	}
	records := make([]events.DynamoDBEventRecord, len(entries))
	for i, e := range entries {
		// Through JSON, as the Lambda runtime delivers them.
		raw, err := json.Marshal(pipe.StreamRecord("us-east-1", "arn:aws:dynamodb:us-east-1:000000000000:table/events/stream/x", e))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &records[i]))
	}
	details, err := ports.Enrich(records)
	require.NoError(t, err)
	require.Len(t, details, len(entries))
	for i, d := range details {
		e := entries[i].Event
		require.NoError(t, schemas.Validate(concertevents.Source, e.EventType, e.SchemaVersion, d), "event %s v%d: %s", e.EventType, e.Version, d)
	}
}

// routes maps route keys to handlers.
func (h *harness) handler(route string) ports.Handler {
	switch route {
	case ports.RouteSchedule:
		return h.http.ScheduleConcert
	case ports.RouteUpdate:
		return h.http.UpdateConcert
	case ports.RouteReschedule:
		return h.http.RescheduleConcert
	case ports.RouteTickets:
		return h.http.SellTickets
	case ports.RouteCancel:
		return h.http.CancelConcert
	case ports.RouteEvents:
		return h.http.GetConcertEvents
	}
	panic("unknown route " + route)
}

// request builds an API Gateway payload 2.0 request as the HTTP API sends it
// (lower-case header names).
func request(route, id, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	method, tmpl, _ := strings.Cut(route, " ")
	p := strings.ReplaceAll(tmpl, "{id}", id)
	hs := map[string]string{}
	if method != "GET" {
		hs["content-type"] = "application/json"
	}
	for k, v := range headers {
		if v == "<absent>" {
			delete(hs, strings.ToLower(k))
			continue
		}
		hs[strings.ToLower(k)] = v
	}
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: p, Headers: hs, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + id,
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: p},
		},
	}
	if strings.Contains(tmpl, "{id}") {
		req.PathParameters = map[string]string{"id": id}
	}
	return req
}

// do calls a handler; no handler may ever answer 5xx or return an error.
func (h *harness) do(t testing.TB, route, id, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	return h.doReq(t, request(route, id, body, headers))
}

func (h *harness) doReq(t testing.TB, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := h.handler(req.RouteKey)(context.Background(), req)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 500, "got %d: %s", resp.StatusCode, resp.Body)
	return resp
}

// schedule creates a concert and returns its id.
func (h *harness) schedule(t testing.TB, capacity int) string {
	t.Helper()
	resp := h.do(t, ports.RouteSchedule, "", fmt.Sprintf(`{"artist":"The Owls","venue":"Paradiso","startsAt":%q,"capacity":%d,"priceCents":4200}`, startsAt, capacity), nil)
	require.Equal(t, 201, resp.StatusCode, resp.Body)
	var r app.Result
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &r))
	return r.ID
}

func requireProblem(t testing.TB, resp events.APIGatewayV2HTTPResponse, status int, detail string) httpapi.Problem {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "got %d want %d: %s", resp.StatusCode, status, resp.Body)
	require.Equal(t, "application/problem+json", resp.Headers["Content-Type"])
	var p httpapi.Problem
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &p))
	require.Equal(t, status, p.Status)
	require.NotEmpty(t, p.Type)
	require.NotEmpty(t, p.Title)
	require.Contains(t, p.Detail, detail, "got detail %q want it to contain %q", p.Detail, detail)
	return p
}

func requireResult(t testing.TB, resp events.APIGatewayV2HTTPResponse, status int, id string, version int64) {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "got %d want %d: %s", resp.StatusCode, status, resp.Body)
	require.Equal(t, "application/json", resp.Headers["Content-Type"])
	require.Equal(t, fmt.Sprintf(`"%d"`, version), resp.Headers["ETag"])
	var r app.Result
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &r))
	require.Equal(t, app.Result{ID: id, Version: version}, r)
}

// history returns the stored events of a concert.
func (h *harness) history(t testing.TB, id string) []eventlog.Event {
	t.Helper()
	evs, err := h.log.Load(context.Background(), id)
	require.NoError(t, err)
	return evs
}

func eventTypes(evs []eventlog.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventType
	}
	return out
}
