package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/testkit/schemavalidate"
	projections "github.com/concertsys/services/projections"
	"github.com/concertsys/services/projections/embedded"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
	"github.com/concertsys/services/projections/internal/publishtest"
	"github.com/concertsys/services/projections/viewevents"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/eventpattern"
)

// stack is the service wired as devstack wires it: bbolt views, the real EventBridge
// SDK client against the local bus, whose archive the rebuild job replays to the
// consumer's rule.
type stack struct {
	svc   service.Service
	views *embedded.Views
	bus   *publishtest.Bus
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return newStackT(t)
}

func newStackT(t testing.TB) *stack {
	t.Helper()
	dir := t.TempDir()
	views, err := embedded.OpenViews(filepath.Join(dir, "views.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = views.Close() })
	key, err := views.CursorKey()
	require.NoError(t, err)
	b := publishtest.Start(t)
	svc, err := projections.New(context.Background(), projections.Deps{
		Views: views, EventBridge: b.Client, EventBusName: publishtest.BusName, CursorKey: key,
		Replay: projections.ReplayTarget{ArchiveARN: b.Local.ArchiveARN(publishtest.ArchiveName), EventBusARN: b.Local.ARN(),
			RuleARN: b.Local.RuleARN(projections.SubscriptionName)},
		ReplayPoll: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	return &stack{svc: svc, views: views, bus: b}
}

func (s *stack) route(t testing.TB, key string) service.HTTPHandler {
	t.Helper()
	for _, r := range s.svc.HTTPRoutes {
		if r.RouteKey == key {
			return r.Handler
		}
	}
	t.Fatalf("no route %q", key)
	return nil
}

// seed stores n concerts through the consumer.
func (s *stack) seed(t testing.TB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("c%03d", i)
		e := logEvent(id, 1, "ConcertScheduled",
			json.RawMessage(fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":"2026-09-%02dT20:00:00Z","capacity":10,"priceCents":1}`, 1+i%28)), historygen.Start)
		require.NoError(t, s.svc.Consumers[0].Handler(ctx, historygen.BusEvent(e)))
	}
}

func get(id string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{RouteKey: projections.RouteGetConcert, RawPath: "/concerts/" + id,
		PathParameters: map[string]string{"id": id}, Headers: headers}
}

func list(params map[string]string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{RouteKey: projections.RouteListConcerts, RawPath: "/concerts", QueryStringParameters: params}
}

// rawList is a GET /concerts as the gateway sends it: the raw query string, and the
// pairs that parse (none here: the raw string is what the handler must check).
func rawList(raw string) events.APIGatewayV2HTTPRequest {
	req := list(nil)
	req.RawQueryString = raw
	return req
}

func rawGet(id, raw string) events.APIGatewayV2HTTPRequest {
	req := get(id, nil)
	req.RawQueryString = raw
	return req
}

func TestQueryRoutesAnswerBadInputWith4xxProblems(t *testing.T) {
	s := newStack(t)
	s.seed(t, 3)
	ctx := context.Background()
	page := s.list(t, map[string]string{"limit": "1", "status": "scheduled"})
	require.NotEmpty(t, page.NextCursor)
	tampered := []byte(page.NextCursor)
	tampered[3] ^= 1
	tests := []struct {
		name       string
		route      string
		req        events.APIGatewayV2HTTPRequest
		wantStatus int
	}{
		{"unknown id", projections.RouteGetConcert, get("nope", nil), http.StatusNotFound},
		{"empty id", projections.RouteGetConcert, get("", nil), http.StatusNotFound},
		{"huge id", projections.RouteGetConcert, get(strings.Repeat("x", 5000), nil), http.StatusNotFound},
		{"invalid UTF-8 id", projections.RouteGetConcert, get("\xff\xfe", nil), http.StatusNotFound},
		{"bad status", projections.RouteListConcerts, list(map[string]string{"status": "sold-out"}), http.StatusBadRequest},
		{"two statuses", projections.RouteListConcerts, list(map[string]string{"status": "scheduled,soldout"}), http.StatusBadRequest},
		{"limit 0", projections.RouteListConcerts, list(map[string]string{"limit": "0"}), http.StatusBadRequest},
		{"limit 101", projections.RouteListConcerts, list(map[string]string{"limit": "101"}), http.StatusBadRequest},
		{"huge limit", projections.RouteListConcerts, list(map[string]string{"limit": "99999999999999999999999"}), http.StatusBadRequest},
		{"negative limit", projections.RouteListConcerts, list(map[string]string{"limit": "-5"}), http.StatusBadRequest},
		{"non-numeric limit", projections.RouteListConcerts, list(map[string]string{"limit": "ten"}), http.StatusBadRequest},
		{"fractional limit", projections.RouteListConcerts, list(map[string]string{"limit": "1.5"}), http.StatusBadRequest},
		{"garbage cursor", projections.RouteListConcerts, list(map[string]string{"cursor": "not-a-cursor"}), http.StatusBadRequest},
		{"tampered cursor", projections.RouteListConcerts, list(map[string]string{"cursor": string(tampered), "status": "scheduled"}), http.StatusBadRequest},
		{"cursor of another filter", projections.RouteListConcerts, list(map[string]string{"cursor": page.NextCursor, "status": "soldout"}), http.StatusBadRequest},
		{"cursor without its filter", projections.RouteListConcerts, list(map[string]string{"cursor": page.NextCursor}), http.StatusBadRequest},
		{"huge cursor", projections.RouteListConcerts, list(map[string]string{"cursor": strings.Repeat("a", 100000)}), http.StatusBadRequest},
		{"unknown parameter", projections.RouteListConcerts, list(map[string]string{"sort": "artist"}), http.StatusBadRequest},
		{"unparseable cursor in the raw query", projections.RouteListConcerts, rawList("cursor=%%%%x"), http.StatusBadRequest},
		{"unparseable limit in the raw query", projections.RouteListConcerts, rawList("limit=%zz"), http.StatusBadRequest},
		{"unparseable status in the raw query", projections.RouteListConcerts, rawList("status=%"), http.StatusBadRequest},
		{"repeated limit", projections.RouteListConcerts, rawList("limit=1&limit=2"), http.StatusBadRequest},
		{"invalid UTF-8 status", projections.RouteListConcerts, rawList("status=%ff"), http.StatusBadRequest},
		{"get with an unparseable query", projections.RouteGetConcert, rawGet("c000", "x=%%%%x"), http.StatusBadRequest},
		{"get with a parameter", projections.RouteGetConcert, rawGet("c000", "fields=artist"), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.route(t, tc.route)(ctx, tc.req)
			require.NoError(t, err)
			require.Equal(t, tc.wantStatus, resp.StatusCode, "got %d %s, want %d", resp.StatusCode, resp.Body, tc.wantStatus)
			require.Equal(t, "application/problem+json", resp.Headers["Content-Type"])
			var p httpapi.Problem
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &p))
			require.Equal(t, tc.wantStatus, p.Status)
			require.NotEmpty(t, p.Detail)
		})
	}
}

// listPage is one page of GET /concerts.
type listPage struct {
	Items      []viewevents.ConcertViewV1 `json:"items"`
	NextCursor string                     `json:"nextCursor"`
}

func (s *stack) list(t *testing.T, params map[string]string) listPage {
	t.Helper()
	return getListPage(t, s.route(t, projections.RouteListConcerts), params)
}

// getListPage calls the list handler with params and decodes its 200 page.
func getListPage(t *testing.T, listConcerts service.HTTPHandler, params map[string]string) listPage {
	t.Helper()
	resp, err := listConcerts(context.Background(), list(params))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, resp.Body)
	var page listPage
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &page))
	if page.NextCursor == "" {
		require.NotContains(t, resp.Body, "nextCursor", "nextCursor must be absent on the last page")
	}
	return page
}

func TestListPagesInStartOrder(t *testing.T) {
	s := newStack(t)
	s.seed(t, 45)
	tests := []struct {
		name   string
		params map[string]string
		want   int
	}{
		{"default limit", map[string]string{}, 45},
		{"limit 7 with status", map[string]string{"limit": "7", "status": "scheduled"}, 45},
		{"status with no concerts", map[string]string{"status": "cancelled"}, 0},
		{"empty values are absent", map[string]string{"status": "", "limit": "", "cursor": ""}, 45},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []viewevents.ConcertViewV1
			params := tc.params
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100)
				page := s.list(t, params)
				got = append(got, page.Items...)
				if page.NextCursor == "" {
					break
				}
				params = map[string]string{"cursor": page.NextCursor, "limit": tc.params["limit"], "status": tc.params["status"]}
			}
			require.Len(t, got, tc.want)
			require.True(t, slices.IsSortedFunc(got, func(a, b viewevents.ConcertViewV1) int {
				if c := a.StartsAt.Compare(b.StartsAt); c != 0 {
					return c
				}
				return strings.Compare(a.ID, b.ID)
			}), "got items out of (startsAt, id) order")
		})
	}
	if page := s.list(t, nil); true {
		require.Len(t, page.Items, 20, "default limit")
	}
}

func TestGetConcertETag(t *testing.T) {
	s := newStack(t)
	s.seed(t, 1)
	h := s.route(t, projections.RouteGetConcert)
	ctx := context.Background()
	resp, err := h(ctx, get("c000", nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, `"1"`, resp.Headers["ETag"])
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &v))
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"id", "artist", "venue", "startsAt", "capacity", "priceCents", "ticketsSold",
		"ticketsAvailable", "status", "version", "updatedAt"}, keys)
	for _, tc := range []struct {
		ifNoneMatch string
		want        int
	}{{`"1"`, 304}, {`W/"1"`, 304}, {`"0", "1"`, 304}, {`*`, 304}, {`"2"`, 200}, {`1`, 200}} {
		resp, err := h(ctx, get("c000", map[string]string{"if-none-match": tc.ifNoneMatch}))
		require.NoError(t, err)
		require.Equal(t, tc.want, resp.StatusCode, "If-None-Match %s", tc.ifNoneMatch)
		require.Equal(t, `"1"`, resp.Headers["ETag"])
		if tc.want == 304 {
			require.Empty(t, resp.Body)
		}
	}
}

func schemasDir(t *testing.T) string {
	t.Helper()
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	return dir
}

func TestSubscriptionNamesExactlyTheAppliedTypesWithSchemas(t *testing.T) {
	sub := projections.Subscription()
	require.Equal(t, projections.SubscriptionName, sub.Name)
	var pattern map[string][]string
	require.NoError(t, json.Unmarshal(sub.Pattern, &pattern), "pattern %s", sub.Pattern)
	require.Equal(t, []string{"concerts"}, pattern["source"])
	require.ElementsMatch(t, []string{"ConcertScheduled", "ConcertUpdated", "ConcertRescheduled", "TicketsSold",
		"ConcertSoldOut", "ConcertCancelled"}, pattern["detail-type"])
	require.Len(t, pattern, 2, "pattern matches on source and detail-type only")
	dir := schemasDir(t)
	for _, typ := range pattern["detail-type"] {
		_, err := os.Stat(filepath.Join(dir, "concerts", typ+".v1.json"))
		require.NoError(t, err, "subscribed to %s, which has no schema", typ)
	}
	require.Equal(t, sub, projections.Describe().Consumers[0].Subscription)

	// The pattern, as the bus evaluates it, takes every subscribed type and nothing else.
	compiled, err := eventpattern.Compile(sub.Pattern)
	require.NoError(t, err)
	envelopeOf := func(source, detailType string) []byte {
		b, _ := json.Marshal(map[string]any{"version": "0", "id": "1", "account": "000000000000", "region": "us-east-1",
			"time": "2026-05-01T18:00:00Z", "resources": []string{}, "source": source, "detail-type": detailType, "detail": map[string]any{}})
		return b
	}
	for _, tc := range []struct {
		source, detailType string
		want               bool
	}{
		{"concerts", "ConcertScheduled", true}, {"concerts", "ConcertCancelled", true}, {"concerts", "TicketsSold", true},
		{"concerts", "ConcertArchived", false}, {"projections", "ConcertViewUpdated", false}, {"other", "TicketsSold", false},
	} {
		got, err := compiled.Match(envelopeOf(tc.source, tc.detailType))
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "%s/%s", tc.source, tc.detailType)
	}
}

// TestConsumerAppliesEverySchemaExample is the consumer contract test: every example
// of every subscribed schema goes through the Lambda handler onto a view at the
// version before it, and the resulting ConcertViewUpdated validates against the
// projections schema. A schema change the consumer cannot decode fails here.
func TestConsumerAppliesEverySchemaExample(t *testing.T) {
	dir := schemasDir(t)
	registry, err := schemavalidate.Load(dir)
	require.NoError(t, err)
	var pattern map[string][]string
	require.NoError(t, json.Unmarshal(projections.Subscription().Pattern, &pattern))
	scheduled := examples(t, dir, "ConcertScheduled")
	require.NotEmpty(t, scheduled)
	for _, typ := range pattern["detail-type"] {
		for i, example := range examples(t, dir, typ) {
			t.Run(fmt.Sprintf("%s/%d", typ, i), func(t *testing.T) {
				require.NoError(t, registry.Validate("concerts", typ, 1, example), "the example must match its own schema")
				var meta envelope.Detail
				require.NoError(t, json.Unmarshal(example, &meta))
				s := newStack(t)
				ctx := context.Background()
				// The history before the example (an example without state applies
				// only as the next version): the ConcertScheduled example, then
				// updates that change nothing, up to the example's version.
				if typ != "ConcertScheduled" {
					var first envelope.Detail
					require.NoError(t, json.Unmarshal(scheduled[0], &first))
					before := []domain.Event{logEvent(meta.Metadata.AggregateID, 1, "ConcertScheduled", first.Data, first.Metadata.OccurredAt)}
					for v := int64(2); v < meta.Metadata.AggregateVersion; v++ {
						before = append(before, logEvent(meta.Metadata.AggregateID, v, "ConcertUpdated", json.RawMessage(`{}`), first.Metadata.OccurredAt))
					}
					for _, e := range before {
						require.NoError(t, s.svc.Consumers[0].Handler(ctx, historygen.BusEvent(e)))
					}
				}
				ev := events.EventBridgeEvent{ID: "x", Source: "concerts", DetailType: typ, Detail: example, Time: time.Now()}
				require.NoError(t, s.svc.Consumers[0].Handler(ctx, ev))
				rec, err := s.views.Get(ctx, meta.Metadata.AggregateID)
				require.NoError(t, err)
				require.Equal(t, meta.Metadata.AggregateVersion, rec.View.Version)
				// The bus delivers the earlier versions' events too, in any order: wait for this one.
				isLast := func(u envelope.Typed[viewevents.ConcertViewV1]) bool { return u.Data.Version == rec.View.Version }
				got := s.bus.WaitFor(t, func(got []envelope.Typed[viewevents.ConcertViewV1]) bool { return slices.ContainsFunc(got, isLast) })
				require.Equal(t, rec.View, got[slices.IndexFunc(got, isLast)].Data)
				for _, raw := range s.bus.RawDetails() {
					require.NoError(t, registry.Validate(viewevents.Source, viewevents.ConcertViewUpdated, 1, raw))
				}
			})
		}
	}
}

func logEvent(id string, v int64, typ string, data json.RawMessage, at time.Time) domain.Event {
	return domain.Event{Meta: envelope.Metadata{AggregateID: id, AggregateVersion: v, EventID: fmt.Sprintf("%s-e%d", id, v),
		EventType: typ, SchemaVersion: 1, OccurredAt: at, CorrelationID: "r", CausationID: "r"}, Data: data}
}

func examples(t *testing.T, dir, typ string) []json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "concerts", typ+".v1.json"))
	require.NoError(t, err)
	var schema struct {
		Examples []json.RawMessage `json:"examples"`
	}
	require.NoError(t, json.Unmarshal(raw, &schema))
	require.NotEmpty(t, schema.Examples, "schema %s has no examples", typ)
	return schema.Examples
}

func TestConsumerRejectsEventsItCannotApply(t *testing.T) {
	s := newStack(t)
	good := historygen.BusEvent(logEvent("c1", 1, "ConcertScheduled",
		json.RawMessage(`{"artist":"A","venue":"V","startsAt":"2026-09-01T20:00:00Z","capacity":5,"priceCents":0}`), historygen.Start))
	tests := []struct {
		name   string
		mutate func(*events.EventBridgeEvent)
	}{
		{"other source", func(e *events.EventBridgeEvent) { e.Source = "elsewhere" }},
		{"detail-type differs from metadata", func(e *events.EventBridgeEvent) { e.DetailType = "ConcertCancelled" }},
		{"detail not JSON", func(e *events.EventBridgeEvent) { e.Detail = json.RawMessage(`{"metadata":`) }},
		{"data missing a required field", func(e *events.EventBridgeEvent) {
			e.Detail = json.RawMessage(strings.Replace(string(e.Detail), `"capacity":5,`, "", 1))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := good
			ev.Detail = append(json.RawMessage(nil), good.Detail...)
			tc.mutate(&ev)
			require.Error(t, s.svc.Consumers[0].Handler(context.Background(), ev), "got nil, want an error so the event goes to the dead-letter queue")
			resp, err := s.route(t, projections.RouteGetConcert)(context.Background(), get("c1", nil))
			require.NoError(t, err)
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "nothing may be stored")
		})
	}
	require.NoError(t, s.svc.Consumers[0].Handler(context.Background(), good))
}

// TestRebuildJob: rebuild-projections replays the bus archive to the consumer's rule
// and follows the replay to its end; the replayed events are duplicates for views
// that are up to date, and the job without a replay target fails.
func TestRebuildJob(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	require.NoError(t, s.bus.Local.Subscribe(projections.Subscription(), s.svc.Consumers[0].Handler))
	for i := range 5 {
		e := historygen.BusEvent(logEvent(fmt.Sprintf("c%d", i), 1, "ConcertScheduled",
			json.RawMessage(`{"artist":"A","venue":"V","startsAt":"2026-09-01T20:00:00Z","capacity":5,"priceCents":0}`), historygen.Start))
		res, err := s.bus.Local.Put(ctx, []bus.Entry{{Source: e.Source, DetailType: e.DetailType, Detail: e.Detail}})
		require.NoError(t, err)
		require.Empty(t, res[0].ErrorCode)
	}
	require.Equal(t, projections.FunctionRebuild, s.svc.Jobs[0].Function)
	out, err := s.svc.Jobs[0].Handler(ctx, json.RawMessage(`{}`))
	require.NoError(t, err)
	var res projections.RebuildResult
	require.NoError(t, json.Unmarshal(out, &res))
	require.Equal(t, "COMPLETED", res.State, "got %s", out)
	replays := s.bus.Local.Replays()
	require.Len(t, replays, 1)
	require.Equal(t, res.Replay, replays[0].Name)
	require.Equal(t, []string{s.bus.Local.RuleARN(projections.SubscriptionName)}, replays[0].FilterARNs)
	// The archive holds every event of the bus: the five and the ConcertViewUpdated
	// published so far; only the five match the consumer's rule.
	require.GreaterOrEqual(t, replays[0].EventsReplayed, 5)
	for i := range 5 {
		waitVersion(t, s.views, fmt.Sprintf("c%d", i), 1)
	}

	noReplay, err := projections.New(ctx, projections.Deps{Views: s.views})
	require.NoError(t, err)
	_, err = noReplay.Jobs[0].Handler(ctx, json.RawMessage(`{}`))
	require.ErrorContains(t, err, "no replayer")
}

func waitVersion(t *testing.T, views *embedded.Views, id string, version int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec, err := views.Get(context.Background(), id)
		if err == nil && rec.View.Version == version {
			return
		}
		require.True(t, time.Now().Before(deadline), "view %s not at v%d in time", id, version)
		time.Sleep(5 * time.Millisecond)
	}
}
