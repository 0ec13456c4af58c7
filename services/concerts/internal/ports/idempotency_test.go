package ports_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"

	"github.com/concertsys/services/concerts/internal/ports"
)

func withKey(key string) map[string]string { return map[string]string{"Idempotency-Key": key} }

func TestIdempotentReplay(t *testing.T) {
	h := newHarness(t, options{})
	scheduleBody := fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":10,"priceCents":1}`, startsAt)
	first := h.do(t, ports.RouteSchedule, "", scheduleBody, withKey("create-1"))
	require.Equal(t, 201, first.StatusCode)
	n := countEvents(t, h)

	again := h.do(t, ports.RouteSchedule, "", scheduleBody, withKey("create-1"))
	require.Equal(t, first, again, "a repeated create answers exactly the first response")
	require.Equal(t, n, countEvents(t, h), "a repeat appends nothing")
	id := first.Headers["Location"][len("/concerts/"):]
	require.Equal(t, "create-1", h.history(t, id)[0].CausationID)

	sell := h.do(t, ports.RouteTickets, id, `{"quantity":3}`, withKey("sell-1"))
	requireResult(t, sell, 200, id, 2)
	h.do(t, ports.RouteTickets, id, `{"quantity":1}`, nil) // someone else buys meanwhile
	n = countEvents(t, h)
	again = h.do(t, ports.RouteTickets, id, `{"quantity":3}`, withKey("sell-1"))
	require.Equal(t, sell, again)
	require.Equal(t, n, countEvents(t, h))

	tests := []struct {
		name  string
		route string
		id    string
		body  string
	}{
		{name: "other body", route: ports.RouteTickets, id: id, body: `{"quantity":4}`},
		{name: "same bytes other spacing", route: ports.RouteTickets, id: id, body: `{"quantity": 3}`},
		{name: "other route", route: ports.RouteCancel, id: id, body: `{"reason":"x"}`},
		{name: "other concert", route: ports.RouteTickets, id: h.schedule(t, 5), body: `{"quantity":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := countEvents(t, h)
			p := requireProblem(t, h.do(t, tt.route, tt.id, tt.body, withKey("sell-1")), 422, "different request")
			require.Equal(t, "urn:concertsys:problem:idempotency-key-reused", p.Type)
			require.Equal(t, n, countEvents(t, h))
		})
	}
}

func TestIdempotentRefusalIsReplayedToo(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 2)
	first := h.do(t, ports.RouteTickets, id, `{"quantity":3}`, withKey("k"))
	requireProblem(t, first, 409, "3 requested, 2 left")
	require.Equal(t, first, h.do(t, ports.RouteTickets, id, `{"quantity":3}`, withKey("k")))
}

// TestIdempotencyKeyCoversIfMatch: If-Match is part of the request a key stands for.
// A retry with another precondition gets 422, not the answer to the first one.
func TestIdempotencyKeyCoversIfMatch(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 10)
	stale := h.do(t, ports.RouteTickets, id, `{"quantity":1}`, map[string]string{"Idempotency-Key": "k1", "If-Match": `"5"`})
	requireProblem(t, stale, 412, `If-Match "5" is stale`)
	sold := h.do(t, ports.RouteTickets, id, `{"quantity":1}`, withKey("k2"))
	requireResult(t, sold, 200, id, 2)

	tests := []struct {
		name    string
		key     string
		ifMatch string // "" = no header
		want    events.APIGatewayV2HTTPResponse
		status  int
	}{
		{name: "same If-Match replays", key: "k1", ifMatch: `"5"`, want: stale},
		{name: "other If-Match", key: "k1", ifMatch: `"2"`, status: 422},
		{name: "If-Match dropped", key: "k1", status: 422},
		{name: "If-Match added", key: "k2", ifMatch: `"1"`, status: 422},
		{name: "star is no precondition", key: "k2", ifMatch: "*", want: sold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := withKey(tt.key)
			if tt.ifMatch != "" {
				headers["If-Match"] = tt.ifMatch
			}
			n := countEvents(t, h)
			got := h.do(t, ports.RouteTickets, id, `{"quantity":1}`, headers)
			if tt.status != 0 {
				requireProblem(t, got, tt.status, "different request")
			} else {
				require.Equal(t, tt.want, got, "got a response other than the stored one")
			}
			require.Equal(t, n, countEvents(t, h), "a replay or a refused reuse appends nothing")
		})
	}
}

func TestFailedRequestReleasesItsKey(t *testing.T) {
	h := newHarness(t, options{wrap: func(l eventlog.Log) eventlog.Log { return failingLog{l} }})
	body := fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt)
	resp, err := h.http.ScheduleConcert(context.Background(), request(ports.RouteSchedule, "", body, withKey("k")))
	require.NoError(t, err)
	require.Equal(t, 500, resp.StatusCode)
	_, err = h.idem.Get(context.Background(), "k")
	require.ErrorIs(t, err, ports.ErrRecordNotFound, "a 5xx is not the answer for good: the client may retry")
}

// blockingLog holds appends until released, so a request can be caught in flight.
type blockingLog struct {
	eventlog.Log
	entered chan struct{}
	release chan struct{}
}

func (l *blockingLog) Append(ctx context.Context, evs []eventlog.Event) error {
	if evs[0].Version > 1 {
		l.entered <- struct{}{}
		<-l.release
	}
	return l.Log.Append(ctx, evs)
}

func TestConcurrentDuplicateIsInProgress(t *testing.T) {
	bl := &blockingLog{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, options{wrap: func(l eventlog.Log) eventlog.Log { bl.Log = l; return bl }})
	id := h.schedule(t, 10)
	var first events.APIGatewayV2HTTPResponse
	done := make(chan struct{})
	go func() {
		defer close(done)
		first, _ = h.http.SellTickets(context.Background(), request(ports.RouteTickets, id, `{"quantity":2}`, withKey("k")))
	}()
	<-bl.entered
	p := requireProblem(t, h.do(t, ports.RouteTickets, id, `{"quantity":2}`, withKey("k")), 409, "in progress")
	require.Equal(t, "urn:concertsys:problem:idempotency-in-progress", p.Type)
	close(bl.release)
	<-done
	requireResult(t, first, 200, id, 2)
	require.Equal(t, first, h.do(t, ports.RouteTickets, id, `{"quantity":2}`, withKey("k")))
	require.Len(t, h.history(t, id), 2)
}

// crashingLog ends the calling goroutine (as a dying process would end the request)
// right before or right after its append, leaving the idempotency claim in progress.
type crashingLog struct {
	eventlog.Log
	armed atomic.Bool
	after bool
}

func (l *crashingLog) Append(ctx context.Context, evs []eventlog.Event) error {
	if !l.armed.CompareAndSwap(true, false) {
		return l.Log.Append(ctx, evs)
	}
	if l.after {
		if err := l.Log.Append(ctx, evs); err != nil {
			return err
		}
	}
	runtime.Goexit()
	return nil
}

// crash runs a request that dies inside the handler.
func crash(h *harness, cl *crashingLog, req events.APIGatewayV2HTTPRequest) {
	cl.armed.Store(true)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = h.handler(req.RouteKey)(context.Background(), req)
	}()
	wg.Wait()
}

func TestCrashRecovery(t *testing.T) {
	scheduleBody := fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":10,"priceCents":1}`, startsAt)
	tests := []struct {
		name        string
		after       bool // the process died after its events were stored
		route       string
		body        string
		wantStatus  int
		wantVersion int64
		wantEvents  int // events of the concert after the retry
	}{
		{name: "sale died after append", after: true, route: ports.RouteTickets, body: `{"quantity":10}`, wantStatus: 200, wantVersion: 3, wantEvents: 3},
		{name: "sale died before append", route: ports.RouteTickets, body: `{"quantity":10}`, wantStatus: 200, wantVersion: 3, wantEvents: 3},
		{name: "create died after append", after: true, route: ports.RouteSchedule, body: scheduleBody, wantStatus: 201, wantVersion: 1, wantEvents: 1},
		{name: "create died before append", route: ports.RouteSchedule, body: scheduleBody, wantStatus: 201, wantVersion: 1, wantEvents: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &crashingLog{after: tt.after}
			h := newHarness(t, options{wrap: func(l eventlog.Log) eventlog.Log { cl.Log = l; return cl }})
			id := ""
			if tt.route != ports.RouteSchedule {
				id = h.schedule(t, 10)
			}
			crash(h, cl, request(tt.route, id, tt.body, withKey("k")))
			rec, err := h.idem.Get(context.Background(), "k")
			require.NoError(t, err)
			require.Equal(t, ports.InProgress, rec.State, "the dead request left its claim")
			if id == "" {
				id = rec.AggregateID
			}

			// Within the lease a retry is told to wait.
			requireProblem(t, h.do(t, tt.route, id, tt.body, withKey("k")), 409, "in progress")

			h.clock.Advance(ports.DefaultLease + time.Second)
			retry := h.do(t, tt.route, id, tt.body, withKey("k"))
			requireResult(t, retry, tt.wantStatus, id, tt.wantVersion)
			if tt.wantStatus == 201 {
				require.Equal(t, "/concerts/"+id, retry.Headers["Location"])
			}
			evs := h.history(t, id)
			require.Len(t, evs, tt.wantEvents, "got events %v", eventTypes(evs))
			require.Equal(t, "k", evs[len(evs)-1].CausationID)

			// And from now on the response is stored.
			require.Equal(t, retry, h.do(t, tt.route, id, tt.body, withKey("k")))
			require.Len(t, h.history(t, id), tt.wantEvents)
		})
	}
}

func TestExpiredRecordIsANewRequest(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 10)
	requireResult(t, h.do(t, ports.RouteTickets, id, `{"quantity":1}`, withKey("k")), 200, id, 2)
	h.clock.Advance(ports.DefaultRetention + time.Minute)
	requireResult(t, h.do(t, ports.RouteTickets, id, `{"quantity":1}`, withKey("k")), 200, id, 3)
}
