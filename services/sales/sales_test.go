package sales_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/platform/testkit/schemavalidate"
	sales "github.com/concertsys/services/sales"
	"github.com/concertsys/services/sales/embedded"
	"github.com/concertsys/services/sales/internal/app"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
)

// harness is the service on its embedded store, called through its handlers.
type harness struct {
	svc    service.Service
	record subscription.Target
	getH   service.HTTPHandler
}

func newService(t *testing.T, opts ...func(*sales.Deps)) *harness {
	t.Helper()
	st, err := embedded.OpenStore(filepath.Join(t.TempDir(), "sales.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	deps := sales.Deps{Store: st}
	for _, o := range opts {
		o(&deps)
	}
	svc, err := sales.New(context.Background(), deps)
	require.NoError(t, err)
	h := &harness{svc: svc}
	for _, c := range svc.Consumers {
		h.record = c.Handler
	}
	for _, r := range svc.HTTPRoutes {
		h.getH = r.Handler
	}
	return h
}

// get calls the query route for id with the raw query string.
func (h *harness) get(t *testing.T, id, rawQuery string) (int, string) {
	t.Helper()
	res, err := h.getH(context.Background(), events.APIGatewayV2HTTPRequest{
		RouteKey: sales.RouteGet, RawQueryString: rawQuery, PathParameters: map[string]string{"id": id},
	})
	require.NoError(t, err)
	return res.StatusCode, res.Body
}

func (h *harness) catchUp(t *testing.T) map[string]any {
	t.Helper()
	job, err := h.svc.Handler(sales.FunctionCatchUp)
	require.NoError(t, err)
	out, err := job.(service.JobHandler)(context.Background(), json.RawMessage(`{}`))
	require.NoError(t, err)
	var res map[string]any
	require.NoError(t, json.Unmarshal(out, &res))
	return res
}

// examples are the schema examples of every subscribed event type as bus events,
// each renumbered to a version of its own of one aggregate.
func examples(t *testing.T, id string) []events.EventBridgeEvent {
	t.Helper()
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	var out []events.EventBridgeEvent
	for path := range sales.Reads() {
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
		require.NoError(t, err)
		var schema struct{ Examples []map[string]any }
		require.NoError(t, json.Unmarshal(raw, &schema))
		source, detailType, _ := strings.Cut(strings.TrimSuffix(path, ".v1.json"), "/")
		for _, ex := range schema.Examples {
			meta := ex["metadata"].(map[string]any)
			meta["aggregateId"] = id
			meta["aggregateVersion"] = len(out) + 1
			meta["eventId"] = fmt.Sprintf("ev-%d", len(out)+1)
			detail, err := json.Marshal(ex)
			require.NoError(t, err)
			out = append(out, events.EventBridgeEvent{ID: fmt.Sprintf("bus-%d", len(out)+1), Source: source, DetailType: detailType, Detail: detail})
		}
	}
	require.NotEmpty(t, out, "no schema examples of the subscribed types")
	return out
}

func TestRecordIsIdempotentAndOrderTolerant(t *testing.T) {
	evs := examples(t, "agg-1")
	inOrder := newService(t)
	for _, ev := range evs {
		require.NoError(t, inOrder.record(context.Background(), ev))
	}
	wantStatus, want := inOrder.get(t, "agg-1", "")
	require.Equal(t, http.StatusOK, wantStatus, "%s", want)

	shuffled := newService(t)
	for i := len(evs) - 1; i >= 0; i-- { // reversed, and every event twice
		require.NoError(t, shuffled.record(context.Background(), evs[i]))
		require.NoError(t, shuffled.record(context.Background(), evs[(i+1)%len(evs)]))
	}
	status, got := shuffled.get(t, "agg-1", "")
	require.Equal(t, http.StatusOK, status, "%s", got)
	require.JSONEq(t, want, got, "got %s want %s", got, want)
}

func TestGetAnswersProblems(t *testing.T) {
	h := newService(t)
	require.NoError(t, h.record(context.Background(), examples(t, "known")[0]))
	tests := []struct {
		name, id, query string
		status          int
	}{
		{name: "known", id: "known", status: http.StatusOK},
		{name: "unknown", id: "unknown", status: http.StatusNotFound},
		{name: "bad id", id: "no/such id", status: http.StatusBadRequest},
		{name: "too long id", id: strings.Repeat("a", 65), status: http.StatusBadRequest},
		{name: "bad from", id: "known", query: "from=yesterday", status: http.StatusBadRequest},
		{name: "unknown parameter", id: "known", query: "x=1", status: http.StatusBadRequest},
		{name: "from", id: "known", query: "from=2026-01-01T00:00:00Z", status: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := h.get(t, tc.id, tc.query)
			require.Equal(t, tc.status, status, "got %d %s want %d", status, body, tc.status)
			if status != http.StatusOK {
				require.Contains(t, body, `"status":`, "got %s, want a problem", body)
			}
		})
	}
}

func TestRecordRefusesInvalidEvents(t *testing.T) {
	h := newService(t)
	for _, detail := range []string{`{`, `{"metadata":{"aggregateId":"a b","aggregateVersion":1,"occurredAt":"2026-05-01T18:00:00Z"}}`,
		`{"metadata":{"aggregateId":"a","aggregateVersion":0,"occurredAt":"2026-05-01T18:00:00Z"}}`, `{"metadata":{"aggregateId":"a","aggregateVersion":1}}`} {
		err := h.record(context.Background(), events.EventBridgeEvent{ID: "x", Detail: json.RawMessage(detail)})
		require.Error(t, err, "got no error for %s", detail)
	}
}

// Deployed after the fact: events put on the bus before the service's rule existed
// reach it through the catch-up job's replay of the archive (the real EventBridge API
// of devstack, through the AWS SDK), and the view equals the one live delivery gives.
// newBus is devstack's bus with an archive of every event, served with its EventBridge
// API, and an SDK client of that API. Close it before the services' stores.
func newBus(t *testing.T) (*bus.Bus, bus.Archive, *eventbridge.Client) {
	t.Helper()
	b, err := bus.New(bus.Options{Name: "test-bus"})
	require.NoError(t, err)
	archive, err := b.CreateArchive(bus.ArchiveConfig{Name: "test-bus-archive"})
	require.NoError(t, err)
	srv := httptest.NewServer(eventsapi.NewHandler(b))
	t.Cleanup(srv.Close)
	client := eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	return b, archive, client
}

func TestCatchUpReplaysTheArchive(t *testing.T) {
	ctx := context.Background()
	b, archive, client := newBus(t)
	defer func() { _ = b.Close(ctx) }() // before the stores close: no delivery reaches a closed store

	evs := examples(t, "agg-1")
	live := newService(t)
	var entries []bus.Entry
	for _, ev := range evs {
		require.NoError(t, live.record(ctx, ev))
		entries = append(entries, bus.Entry{Source: ev.Source, DetailType: ev.DetailType, Detail: ev.Detail, Time: time.Now().Add(-time.Minute)})
	}
	results, err := b.Put(ctx, entries)
	require.NoError(t, err)
	for _, r := range results {
		require.Empty(t, r.ErrorCode, "got put error %s %s", r.ErrorCode, r.ErrorMessage)
	}

	late := newService(t, func(d *sales.Deps) {
		d.EventBridge, d.ArchiveARN, d.BusARN, d.RuleARN = client, archive.ARN, b.ARN(), b.RuleARN(sales.SubscriptionName)
	})
	require.NoError(t, b.Subscribe(sales.Subscription(), late.record))
	status, body := late.get(t, "agg-1", "")
	require.Equal(t, http.StatusNotFound, status, "got %d %s before the catch-up", status, body)

	first := late.catchUp(t)
	require.Equal(t, true, first["started"], "got %v", first)
	require.Eventually(t, func() bool { return late.catchUp(t)["state"] == "COMPLETED" }, 30*time.Second, 20*time.Millisecond,
		"the catch-up replay never completed")
	again := late.catchUp(t)
	require.Equal(t, first["replayName"], again["replayName"], "got %v, want the first replay only", again)

	// COMPLETED means every event is back on the bus; deliveries may still run.
	_, want := live.get(t, "agg-1", "")
	require.Eventually(t, func() bool {
		_, got := late.get(t, "agg-1", "")
		return jsonEqual(want, got)
	}, 30*time.Second, 10*time.Millisecond, "the view after the catch-up never became %s, as delivered live", want)
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// A replay the bus forgot before it completed (devstack forgets replays when it
// restarts) is started again under its recorded name and window.
func TestCatchUpRestartsAForgottenReplay(t *testing.T) {
	ctx := context.Background()
	b, archive, client := newBus(t)
	defer func() { _ = b.Close(ctx) }()
	st, err := embedded.OpenStore(filepath.Join(t.TempDir(), "sales.db"))
	require.NoError(t, err)
	defer st.Close()
	to := time.Now().UTC().Truncate(time.Millisecond)
	_, err = st.SaveCatchUp(ctx, app.CatchUpRecord{ReplayName: "sales-catch-up-1", From: time.Unix(0, 0).UTC(), To: to})
	require.NoError(t, err)
	require.NoError(t, b.Subscribe(sales.Subscription(), func(context.Context, events.EventBridgeEvent) error { return nil }))
	svc, err := sales.New(ctx, sales.Deps{Store: st, EventBridge: client, ArchiveARN: archive.ARN, BusARN: b.ARN(),
		RuleARN: b.RuleARN(sales.SubscriptionName)})
	require.NoError(t, err)
	h := &harness{svc: svc}
	got := h.catchUp(t)
	require.Equal(t, "sales-catch-up-1", got["replayName"], "got %v", got)
	require.Equal(t, true, got["started"], "got %v, want the forgotten replay started again", got)
	r, err := b.DescribeReplay("sales-catch-up-1")
	require.NoError(t, err)
	require.WithinDuration(t, to, r.End, time.Millisecond, "got replay end %s, want the recorded %s (the API carries epoch seconds as a float)", r.End, to)
}

func TestCatchUpNeedsItsConfiguration(t *testing.T) {
	h := newService(t)
	job, err := h.svc.Handler(sales.FunctionCatchUp)
	require.NoError(t, err)
	_, err = job.(service.JobHandler)(context.Background(), json.RawMessage(`{}`))
	require.ErrorContains(t, err, "no EventBridge client", "got %v", err)
}
