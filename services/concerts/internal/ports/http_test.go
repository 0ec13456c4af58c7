package ports_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/httpapi"

	"github.com/concertsys/services/concerts/concertevents"
	"github.com/concertsys/services/concerts/internal/ports"
)

func TestScheduleConcert(t *testing.T) {
	h := newHarness(t, options{})
	resp := h.do(t, ports.RouteSchedule, "", `{"artist":"  The Owls ","venue":"Paradiso","startsAt":"2026-09-12T22:00:00+02:00","capacity":1500,"priceCents":0}`,
		map[string]string{"X-Correlation-Id": "corr-1"})
	requireResult(t, resp, 201, "id-000001", 1)
	require.Equal(t, "/concerts/id-000001", resp.Headers["Location"])

	evs := h.history(t, "id-000001")
	require.Len(t, evs, 1)
	e := evs[0]
	require.Equal(t, concertevents.ConcertScheduled, e.EventType)
	require.Equal(t, 1, e.SchemaVersion)
	require.Equal(t, "corr-1", e.CorrelationID)
	require.Equal(t, "req-", e.CausationID, "without Idempotency-Key the causation is the API Gateway request id")
	require.NotEmpty(t, e.EventID)
	var data concertevents.ConcertScheduledV1
	require.NoError(t, json.Unmarshal(e.Data, &data))
	startsAt := time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC)
	require.Equal(t, concertevents.ConcertScheduledV1{Artist: "The Owls", Venue: "Paradiso",
		StartsAt: startsAt, Capacity: 1500, PriceCents: 0,
		State: &concertevents.ConcertStateV1{Artist: "The Owls", Venue: "Paradiso", StartsAt: startsAt, Capacity: 1500}}, data)
}

// TestStartsAtRFC3339 covers date-times RFC 3339 allows that time.Parse alone
// handles differently: lower-case "t" and "z", long fractions, offsets.
func TestStartsAtRFC3339(t *testing.T) {
	tests := []struct {
		name     string
		startsAt string
		want     time.Time
	}{
		{name: "upper case", startsAt: "2026-09-12T20:00:00Z", want: time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC)},
		{name: "lower case t and z", startsAt: "2026-09-12t20:00:00z", want: time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC)},
		{name: "offset", startsAt: "2026-09-12T22:00:00+02:00", want: time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC)},
		{name: "largest offset", startsAt: "2026-09-12T20:00:00-23:59", want: time.Date(2026, 9, 13, 19, 59, 0, 0, time.UTC)},
		{name: "fraction", startsAt: "2026-09-12T20:00:00.25Z", want: time.Date(2026, 9, 12, 20, 0, 0, 250000000, time.UTC)},
		{name: "fraction beyond nanoseconds", startsAt: "2026-09-12T20:00:00.1234567891Z", want: time.Date(2026, 9, 12, 20, 0, 0, 123456789, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, options{})
			body := fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, tt.startsAt)
			requireResult(t, h.do(t, ports.RouteSchedule, "", body, nil), 201, "id-000001", 1)
			var data concertevents.ConcertScheduledV1
			require.NoError(t, json.Unmarshal(h.history(t, "id-000001")[0].Data, &data))
			require.True(t, tt.want.Equal(data.StartsAt), "got startsAt %s, want %s", data.StartsAt, tt.want)
		})
	}
}

func TestCorrelationDefaultsToRequestID(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 10)
	resp := h.do(t, ports.RouteTickets, id, `{"quantity":2}`, nil)
	requireResult(t, resp, 200, id, 2)
	evs := h.history(t, id)
	require.Equal(t, "req-"+id, evs[1].CorrelationID)
	require.Equal(t, "req-"+id, evs[1].CausationID)
}

func TestWriteRoutes(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 10)
	tests := []struct {
		name    string
		route   string
		body    string
		headers map[string]string
		version int64
		types   []string
	}{
		{name: "update", route: ports.RouteUpdate, body: `{"artist":"New Owls","priceCents":5000}`, version: 2, types: []string{concertevents.ConcertUpdated}},
		{name: "update nothing changes", route: ports.RouteUpdate, body: `{"artist":"New Owls"}`, version: 2},
		{name: "reschedule", route: ports.RouteReschedule, body: `{"startsAt":"2026-10-01T19:30:00Z"}`, version: 3, types: []string{concertevents.ConcertRescheduled}},
		{name: "sell", route: ports.RouteTickets, body: `{"quantity":4}`, headers: map[string]string{"If-Match": `"3"`}, version: 4, types: []string{concertevents.TicketsSold}},
		{name: "sell out", route: ports.RouteTickets, body: `{"quantity":6}`, version: 6, types: []string{concertevents.TicketsSold, concertevents.ConcertSoldOut}},
		{name: "cancel", route: ports.RouteCancel, body: `{"reason":"The venue flooded"}`, headers: map[string]string{"If-Match": "*"}, version: 7, types: []string{concertevents.ConcertCancelled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.history(t, id))
			resp := h.do(t, tt.route, id, tt.body, tt.headers)
			requireResult(t, resp, 200, id, tt.version)
			require.Empty(t, resp.Headers["Location"])
			got := eventTypes(h.history(t, id)[before:])
			require.Equal(t, len(tt.types), len(got), "got events %v want %v", got, tt.types)
			if len(tt.types) > 0 {
				require.Equal(t, tt.types, got)
			}
		})
	}
}

func TestSoldOutIsAtomicWithTheSale(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 3)
	requireResult(t, h.do(t, ports.RouteTickets, id, `{"quantity":3}`, nil), 200, id, 3)
	evs := h.history(t, id)
	require.Equal(t, []string{concertevents.ConcertScheduled, concertevents.TicketsSold, concertevents.ConcertSoldOut}, eventTypes(evs))
	require.True(t, evs[1].OccurredAt.Equal(evs[2].OccurredAt))
	require.Equal(t, evs[1].CausationID, evs[2].CausationID)
	requireProblem(t, h.do(t, ports.RouteTickets, id, `{"quantity":1}`, nil), 409, "sold out")
}

// TestBadInput sends every kind of bad request to every route: each gets its
// specific 4xx problem and appends nothing.
func TestBadInput(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 10)
	soldOut := h.schedule(t, 2)
	requireResult(t, h.do(t, ports.RouteTickets, soldOut, `{"quantity":2}`, nil), 200, soldOut, 3)
	cancelled := h.schedule(t, 10)
	requireResult(t, h.do(t, ports.RouteCancel, cancelled, `{"reason":"storm"}`, nil), 200, cancelled, 2)

	valid := map[string]string{
		ports.RouteSchedule:   fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":10,"priceCents":100}`, startsAt),
		ports.RouteUpdate:     `{"venue":"Hall"}`,
		ports.RouteReschedule: `{"startsAt":"2026-12-01T20:00:00Z"}`,
		ports.RouteTickets:    `{"quantity":1}`,
		ports.RouteCancel:     `{"reason":"flood"}`,
	}
	type tc struct {
		name    string
		route   string
		id      string
		body    string
		headers map[string]string
		b64     bool
		status  int
		detail  string
	}
	var tests []tc
	// What every write route must refuse the same way.
	for _, route := range []string{ports.RouteSchedule, ports.RouteUpdate, ports.RouteReschedule, ports.RouteTickets, ports.RouteCancel} {
		cid := id
		if route == ports.RouteSchedule {
			cid = ""
		}
		tests = append(tests,
			tc{name: "malformed JSON", route: route, id: cid, body: `{"quantity":`, status: 400, detail: "malformed JSON"},
			tc{name: "syntax error", route: route, id: cid, body: `{"a" 1}`, status: 400, detail: "malformed JSON"},
			tc{name: "empty body", route: route, id: cid, body: "", status: 400, detail: "body is empty"},
			tc{name: "blank body", route: route, id: cid, body: "  \n", status: 400, detail: "body is empty"},
			tc{name: "array body", route: route, id: cid, body: `[1]`, status: 400, detail: "must be a JSON object"},
			tc{name: "string body", route: route, id: cid, body: `"x"`, status: 400, detail: "must be a JSON object"},
			tc{name: "null body", route: route, id: cid, body: `null`, status: 400, detail: "must be a JSON object, got null"},
			tc{name: "two objects", route: route, id: cid, body: valid[route] + `{}`, status: 400, detail: "single JSON object"},
			tc{name: "unknown field", route: route, id: cid, body: strings.Replace(valid[route], "{", `{"extra":1,`, 1), status: 400, detail: `unknown field "extra"`},
			tc{name: "oversize", route: route, id: cid, body: `{"x":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`, status: 413, detail: "exceeds"},
			tc{name: "text/plain", route: route, id: cid, body: valid[route], headers: map[string]string{"Content-Type": "text/plain"}, status: 415, detail: "application/json"},
			tc{name: "no content type", route: route, id: cid, body: valid[route], headers: map[string]string{"Content-Type": "<absent>"}, status: 415, detail: "application/json"},
			tc{name: "bad base64", route: route, id: cid, body: "%%%", b64: true, status: 400, detail: "base64"},
			tc{name: "If-Match unquoted", route: route, id: cid, body: valid[route], headers: map[string]string{"If-Match": "1"}, status: 400, detail: "If-Match"},
			tc{name: "If-Match weak", route: route, id: cid, body: valid[route], headers: map[string]string{"If-Match": `W/"1"`}, status: 400, detail: "If-Match"},
			tc{name: "If-Match list", route: route, id: cid, body: valid[route], headers: map[string]string{"If-Match": `"1", "2"`}, status: 400, detail: "If-Match"},
			tc{name: "If-Match not a number", route: route, id: cid, body: valid[route], headers: map[string]string{"If-Match": `"abc"`}, status: 400, detail: "If-Match"},
			tc{name: "If-Match huge", route: route, id: cid, body: valid[route], headers: map[string]string{"If-Match": `"99999999999999999999"`}, status: 400, detail: "If-Match"},
			tc{name: "If-Match stale", route: route, id: cid, body: valid[route], headers: map[string]string{"If-Match": `"7"`}, status: 412, detail: "stale"},
			tc{name: "Idempotency-Key with space", route: route, id: cid, body: valid[route], headers: map[string]string{"Idempotency-Key": "a b"}, status: 400, detail: "Idempotency-Key"},
			tc{name: "Idempotency-Key empty", route: route, id: cid, body: valid[route], headers: map[string]string{"Idempotency-Key": ""}, status: 400, detail: "Idempotency-Key"},
			tc{name: "Idempotency-Key too long", route: route, id: cid, body: valid[route], headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, status: 400, detail: "Idempotency-Key"},
			tc{name: "X-Correlation-Id too long", route: route, id: cid, body: valid[route], headers: map[string]string{"X-Correlation-Id": strings.Repeat("c", 129)}, status: 400, detail: "X-Correlation-Id"},
			tc{name: "X-Correlation-Id control char", route: route, id: cid, body: valid[route], headers: map[string]string{"X-Correlation-Id": "a\nb"}, status: 400, detail: "X-Correlation-Id"},
		)
		if route != ports.RouteSchedule {
			tests = append(tests,
				tc{name: "unknown id", route: route, id: "no-such-concert", body: valid[route], status: 404, detail: "no concert"},
				tc{name: "invalid id", route: route, id: "../etc/passwd", body: valid[route], status: 404, detail: "no concert"},
				tc{name: "empty id", route: route, id: "", body: valid[route], status: 404, detail: "no concert"},
				tc{name: "cancelled", route: route, id: cancelled, body: valid[route], status: 409, detail: "cancelled"},
			)
		}
	}
	tests = append(tests,
		// POST /concerts
		tc{name: "missing fields", route: ports.RouteSchedule, body: `{"artist":"A"}`, status: 400, detail: `fields "capacity", "priceCents", "startsAt", "venue" are required`},
		tc{name: "null artist", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":null,"venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt), status: 400, detail: `field "artist" is required`},
		tc{name: "blank artist", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"  ","venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt), status: 400, detail: "artist must not be empty"},
		tc{name: "long venue", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":%q,"startsAt":%q,"capacity":1,"priceCents":1}`, strings.Repeat("v", 201), startsAt), status: 400, detail: "venue must be at most 200"},
		tc{name: "artist wrong type", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":5,"venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt), status: 400, detail: `"artist" must be a string`},
		tc{name: "startsAt not a date", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"next friday","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt date only", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-09-12","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt number", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":1789000000,"capacity":1,"priceCents":1}`, status: 400, detail: `"startsAt" must be a string`},
		tc{name: "startsAt past", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-04-01T00:00:00Z","capacity":1,"priceCents":1}`, status: 400, detail: "startsAt must be in the future"},
		tc{name: "startsAt now", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-05-01T12:00:00Z","capacity":1,"priceCents":1}`, status: 400, detail: "startsAt must be in the future"},
		tc{name: "startsAt one-digit hour", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-09-12T8:00:00Z","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt comma fraction", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-09-12T20:00:00,5Z","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt offset hour 24", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-09-12T20:00:00+24:00","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt offset minute 60", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-09-12T20:00:00+05:60","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt offset without colon", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-09-12T20:00:00+0200","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt space separator", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-09-12 20:00:00Z","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt leading space", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":" 2026-09-12T20:00:00Z","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt hour 24", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-09-12T24:00:00Z","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt February 30", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"2026-02-30T20:00:00Z","capacity":1,"priceCents":1}`, status: 400, detail: "RFC 3339"},
		tc{name: "startsAt past year 9999 in UTC", route: ports.RouteSchedule, body: `{"artist":"A","venue":"V","startsAt":"9999-12-31T23:00:00-23:00","capacity":1,"priceCents":1}`, status: 400, detail: "startsAt must be before"},
		tc{name: "capacity zero", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":0,"priceCents":1}`, startsAt), status: 400, detail: "capacity must be between 1 and 1000000"},
		tc{name: "capacity too big", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1000001,"priceCents":1}`, startsAt), status: 400, detail: "capacity must be between"},
		tc{name: "capacity fraction", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1.5,"priceCents":1}`, startsAt), status: 400, detail: `"capacity" must be an integer`},
		tc{name: "capacity string", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":"10","priceCents":1}`, startsAt), status: 400, detail: `"capacity" must be an integer`},
		tc{name: "capacity overflow", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1e40,"priceCents":1}`, startsAt), status: 400, detail: `"capacity" must be an integer`},
		tc{name: "price negative", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1,"priceCents":-1}`, startsAt), status: 400, detail: "priceCents must be between 0 and 100000000"},
		tc{name: "price too big", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1,"priceCents":100000001}`, startsAt), status: 400, detail: "priceCents must be between"},
		tc{name: "price fraction", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1,"priceCents":9.99}`, startsAt), status: 400, detail: `"priceCents" must be an integer`},
		tc{name: "If-Match on create", route: ports.RouteSchedule, body: valid[ports.RouteSchedule], headers: map[string]string{"If-Match": `"1"`}, status: 412, detail: "the concert does not exist yet"},
		tc{name: "If-Match 0 on create", route: ports.RouteSchedule, body: valid[ports.RouteSchedule], headers: map[string]string{"If-Match": `"0"`}, status: 412, detail: `If-Match "0" is stale: expected version 0, but the concert does not exist yet`},
		tc{name: "upper-case field", route: ports.RouteSchedule, body: fmt.Sprintf(`{"ARTIST":"A","venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt), status: 400, detail: `unknown field "ARTIST"`},
		tc{name: "duplicate field", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","artist":"B","venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt), status: 400, detail: `duplicate field "artist"`},
		tc{name: "invalid UTF-8", route: ports.RouteSchedule, body: fmt.Sprintf("{\"artist\":\"A\xff\",\"venue\":\"V\",\"startsAt\":%q,\"capacity\":1,\"priceCents\":1}", startsAt), status: 400, detail: "not valid UTF-8"},
		tc{name: "artist NUL and RLO", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"\u0000\u202e","venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt), status: 400, detail: `field "artist" must not contain a control character`},
		tc{name: "venue RLO", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V\u202eX","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt), status: 400, detail: `field "venue" must not contain a bidi override`},
		tc{name: "venue isolate", route: ports.RouteSchedule, body: fmt.Sprintf(`{"artist":"A","venue":"V\u2066X","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt), status: 400, detail: `field "venue" must not contain a bidi override`},
		// PATCH
		tc{name: "patch artist newline", route: ports.RouteUpdate, id: id, body: `{"artist":"a\nb"}`, status: 400, detail: `field "artist" must not contain a control character (U+000A`},
		tc{name: "patch Venue case", route: ports.RouteUpdate, id: id, body: `{"Venue":"Hall"}`, status: 400, detail: `unknown field "Venue"`},
		tc{name: "patch no fields", route: ports.RouteUpdate, id: id, body: `{}`, status: 400, detail: "at least one of"},
		tc{name: "patch only nulls", route: ports.RouteUpdate, id: id, body: `{"artist":null}`, status: 400, detail: "at least one of"},
		tc{name: "patch blank venue", route: ports.RouteUpdate, id: id, body: `{"venue":" "}`, status: 400, detail: "venue must not be empty"},
		tc{name: "patch long artist", route: ports.RouteUpdate, id: id, body: fmt.Sprintf(`{"artist":%q}`, strings.Repeat("é", 201)), status: 400, detail: "artist must be at most 200"},
		tc{name: "patch price negative", route: ports.RouteUpdate, id: id, body: `{"priceCents":-5}`, status: 400, detail: "priceCents"},
		tc{name: "patch price type", route: ports.RouteUpdate, id: id, body: `{"priceCents":"5"}`, status: 400, detail: `"priceCents" must be an integer`},
		tc{name: "patch startsAt not allowed", route: ports.RouteUpdate, id: id, body: `{"startsAt":"2026-12-01T20:00:00Z"}`, status: 400, detail: `unknown field "startsAt"`},
		// reschedule
		tc{name: "reschedule missing", route: ports.RouteReschedule, id: id, body: `{}`, status: 400, detail: `field "startsAt" is required`},
		tc{name: "reschedule past", route: ports.RouteReschedule, id: id, body: `{"startsAt":"2020-01-01T00:00:00Z"}`, status: 400, detail: "future"},
		tc{name: "reschedule bad date", route: ports.RouteReschedule, id: id, body: `{"startsAt":"2026-13-01T00:00:00Z"}`, status: 400, detail: "RFC 3339"},
		// tickets
		tc{name: "quantity missing", route: ports.RouteTickets, id: id, body: `{}`, status: 400, detail: `field "quantity" is required`},
		tc{name: "quantity zero", route: ports.RouteTickets, id: id, body: `{"quantity":0}`, status: 400, detail: "quantity must be between 1 and 100"},
		tc{name: "quantity negative", route: ports.RouteTickets, id: id, body: `{"quantity":-3}`, status: 400, detail: "quantity must be between"},
		tc{name: "quantity over 100", route: ports.RouteTickets, id: id, body: `{"quantity":101}`, status: 400, detail: "quantity must be between"},
		tc{name: "quantity string", route: ports.RouteTickets, id: id, body: `{"quantity":"2"}`, status: 400, detail: `"quantity" must be an integer`},
		tc{name: "quantity fraction", route: ports.RouteTickets, id: id, body: `{"quantity":1.5}`, status: 400, detail: `"quantity" must be an integer`},
		tc{name: "quantity bool", route: ports.RouteTickets, id: id, body: `{"quantity":true}`, status: 400, detail: `"quantity" must be an integer`},
		tc{name: "more than left", route: ports.RouteTickets, id: id, body: `{"quantity":11}`, status: 409, detail: "11 requested, 10 left"},
		tc{name: "sold out", route: ports.RouteTickets, id: soldOut, body: `{"quantity":1}`, status: 409, detail: "sold out"},
		// cancel
		tc{name: "reason missing", route: ports.RouteCancel, id: id, body: `{}`, status: 400, detail: `field "reason" is required`},
		tc{name: "reason blank", route: ports.RouteCancel, id: id, body: `{"reason":" "}`, status: 400, detail: "reason must not be empty"},
		tc{name: "reason tab", route: ports.RouteCancel, id: id, body: `{"reason":"\t "}`, status: 400, detail: `field "reason" must not contain a control character`},
		tc{name: "reason PDI", route: ports.RouteCancel, id: id, body: `{"reason":"x\u2069"}`, status: 400, detail: `field "reason" must not contain a bidi override`},
		tc{name: "reason duplicate", route: ports.RouteCancel, id: id, body: `{"reason":"a","reason":"b"}`, status: 400, detail: `duplicate field "reason"`},
		tc{name: "reason too long", route: ports.RouteCancel, id: id, body: fmt.Sprintf(`{"reason":%q}`, strings.Repeat("r", 501)), status: 400, detail: "reason must be at most 500"},
		// GET events
		tc{name: "events unknown id", route: ports.RouteEvents, id: "nope", status: 404, detail: "no concert"},
		tc{name: "events invalid id", route: ports.RouteEvents, id: "a/b", status: 404, detail: "no concert"},
	)
	for _, tt := range tests {
		t.Run(tt.route+"/"+tt.name, func(t *testing.T) {
			before := countEvents(t, h)
			req := request(tt.route, tt.id, tt.body, tt.headers)
			req.IsBase64Encoded = tt.b64
			requireProblem(t, h.doReq(t, req), tt.status, tt.detail)
			require.Equal(t, before, countEvents(t, h), "a refused request appends nothing")
		})
	}
}

func TestEventsQueryValidation(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 10)
	other := h.schedule(t, 10)
	h.do(t, ports.RouteTickets, other, `{"quantity":1}`, nil)
	req := request(ports.RouteEvents, other, "", nil)
	req.RawQueryString = "limit=1"
	var page struct {
		NextCursor string `json:"nextCursor"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.doReq(t, req).Body), &page))
	require.NotEmpty(t, page.NextCursor, "got no nextCursor for a page of 1 of 2 events")
	tests := []struct {
		raw    string
		detail string
	}{
		{"limit=0", `query parameter "limit" must be an integer between 1 and 1000`},
		{"limit=1001", `"limit" must be an integer`},
		{"limit=1.5", `"limit" must be an integer`},
		{"limit=-1", `"limit" must be an integer`},
		{"limit=99999999999999999999", `"limit" must be an integer`},
		{"limit=1&limit=2", `"limit" is given more than once`},
		{"cursor=%%%%x", `"cursor" is not valid percent-encoding`},
		{"cursor=abc", `"cursor" is not a cursor this API issued`},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("h1:"+id+":x")), "not a cursor"},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("h1:"+id+":0")), "not a cursor"},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("h1:"+id+":01")), "not a cursor"},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("h1:"+id+":-5")), "not a cursor"},
		{"cursor=" + page.NextCursor, "not a cursor this API issued for this concert"}, // another concert's cursor
		{"after=1", `unknown query parameter "after"`},
		{"x=1", `unknown query parameter "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			req := request(ports.RouteEvents, id, "", nil)
			req.RawQueryString = tc.raw
			requireProblem(t, h.doReq(t, req), 400, tc.detail)
		})
	}
}

func countEvents(t testing.TB, h *harness) int {
	t.Helper()
	n := 0
	require.NoError(t, h.log.ForEach(context.Background(), func(eventlog.Event) error { n++; return nil }))
	return n
}

func TestStartedConcertRefusesSalesAndRescheduling(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 10)
	h.clock.Set(time.Date(2026, 9, 12, 20, 0, 0, 0, time.UTC))
	requireProblem(t, h.do(t, ports.RouteTickets, id, `{"quantity":1}`, nil), 409, "already started")
	requireProblem(t, h.do(t, ports.RouteReschedule, id, `{"startsAt":"2026-12-01T20:00:00Z"}`, nil), 409, "already started")
	requireResult(t, h.do(t, ports.RouteCancel, id, `{"reason":"rain"}`, nil), 200, id, 2)
}

func TestGetConcertEvents(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 5)
	h.do(t, ports.RouteTickets, id, `{"quantity":2}`, nil)
	h.do(t, ports.RouteTickets, id, `{"quantity":3}`, nil)

	type view struct {
		EventID     string          `json:"eventId"`
		AggregateID string          `json:"aggregateId"`
		Version     int64           `json:"version"`
		Type        string          `json:"type"`
		OccurredAt  time.Time       `json:"occurredAt"`
		Data        json.RawMessage `json:"data"`
	}
	var page struct {
		Events     []view `json:"events"`
		NextCursor string `json:"nextCursor"`
	}
	resp := h.do(t, ports.RouteEvents, id, "", nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "application/json", resp.Headers["Content-Type"])
	dec := json.NewDecoder(strings.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&page))
	require.Empty(t, page.NextCursor, "got nextCursor %q on the only page, want none", page.NextCursor)
	require.Len(t, page.Events, 4)
	want := []string{concertevents.ConcertScheduled, concertevents.TicketsSold, concertevents.TicketsSold, concertevents.ConcertSoldOut}
	for i, e := range page.Events {
		require.Equal(t, want[i], e.Type)
		require.Equal(t, int64(i+1), e.Version)
		require.Equal(t, id, e.AggregateID)
		require.NotEmpty(t, e.EventID)
		require.True(t, e.OccurredAt.Equal(base), "got occurredAt %v want %v", e.OccurredAt, base)
	}
	require.JSONEq(t, `{"quantity":3,"ticketsSold":5,"ticketsAvailable":0,"state":{"artist":"The Owls","venue":"Paradiso",
		"startsAt":"2026-09-12T20:00:00Z","capacity":5,"priceCents":4200,"ticketsSold":5,"cancelled":false}}`, string(page.Events[2].Data))

	// Walk the history a page of 3 at a time: 3 events and a cursor, then the last one.
	var versions []int64
	cursor, pages := "", 0
	for {
		req := request(ports.RouteEvents, id, "", nil)
		req.RawQueryString = "limit=3"
		if cursor != "" {
			req.RawQueryString += "&cursor=" + url.QueryEscape(cursor)
		}
		resp := h.doReq(t, req)
		require.Equal(t, 200, resp.StatusCode, "got %d %s, want 200", resp.StatusCode, resp.Body)
		page.NextCursor = ""
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &page))
		for _, e := range page.Events {
			versions = append(versions, e.Version)
		}
		pages++
		if page.NextCursor == "" {
			break
		}
		require.Less(t, pages, 5, "got more pages than events")
		cursor = page.NextCursor
	}
	require.Equal(t, []int64{1, 2, 3, 4}, versions, "got versions %v, want 1..4 once each", versions)
	require.Equal(t, 2, pages, "got %d pages, want 2", pages)

	// A page that ends exactly at the end answers no cursor.
	req := request(ports.RouteEvents, id, "", nil)
	req.RawQueryString = "limit=4"
	resp = h.doReq(t, req)
	require.Equal(t, 200, resp.StatusCode)
	require.NotContains(t, resp.Body, "nextCursor", "got a cursor on the last page: %s", resp.Body)
}

func TestBase64Body(t *testing.T) {
	h := newHarness(t, options{})
	req := request(ports.RouteSchedule, "", base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt))), nil)
	req.IsBase64Encoded = true
	require.Equal(t, 201, h.doReq(t, req).StatusCode)
}

func TestContentTypeWithCharset(t *testing.T) {
	h := newHarness(t, options{})
	id := h.schedule(t, 10)
	resp := h.do(t, ports.RouteTickets, id, `{"quantity":1}`, map[string]string{"Content-Type": "application/json; charset=utf-8"})
	requireResult(t, resp, 200, id, 2)
}

// conflictingLog lets another writer win every append first, as a busy concert
// with other Lambda instances would.
type conflictingLog struct {
	eventlog.Log
	appends int
}

func (l *conflictingLog) Append(ctx context.Context, evs []eventlog.Event) error {
	l.appends++
	if evs[0].Version > 1 {
		rival := evs[0]
		rival.EventID, rival.CausationID = fmt.Sprintf("rival-%d", l.appends), "rival"
		rival.EventType = concertevents.ConcertUpdated
		rival.Data = json.RawMessage(fmt.Sprintf(`{"priceCents":%d}`, l.appends))
		if err := l.Log.Append(ctx, []eventlog.Event{rival}); err != nil {
			return err
		}
	}
	return l.Log.Append(ctx, evs)
}

func TestContentionExhaustsRetries(t *testing.T) {
	var cl *conflictingLog
	h := newHarness(t, options{wrap: func(l eventlog.Log) eventlog.Log { cl = &conflictingLog{Log: l}; return cl }})
	id := h.schedule(t, 10)
	p := requireProblem(t, h.do(t, ports.RouteTickets, id, `{"quantity":1}`, nil), 409, "retry")
	require.Equal(t, "urn:concertsys:problem:concurrent-modification", p.Type)
	require.Equal(t, 1+10, cl.appends, "got %d appends want the schedule plus 10 attempts", cl.appends)
	for _, e := range h.history(t, id)[1:] {
		require.Equal(t, concertevents.ConcertUpdated, e.EventType, "only the rival's events are stored")
	}
	// With If-Match the first conflict is a 412: the caller pinned the version.
	cur := int64(len(h.history(t, id)))
	requireProblem(t, h.do(t, ports.RouteTickets, id, `{"quantity":1}`, map[string]string{"If-Match": fmt.Sprintf(`"%d"`, cur)}), 412, "stale")
}

// failingLog is an infrastructure failure with internals in its message.
type failingLog struct{ eventlog.Log }

func (failingLog) Append(context.Context, []eventlog.Event) error {
	return errors.New("dial tcp 10.0.0.7:443: secret-table-name unreachable")
}

func TestInfrastructureErrorIs500WithoutInternals(t *testing.T) {
	h := newHarness(t, options{wrap: func(l eventlog.Log) eventlog.Log { return failingLog{l} }})
	req := request(ports.RouteSchedule, "", fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":1,"priceCents":1}`, startsAt), nil)
	resp, err := h.http.ScheduleConcert(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, 500, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Headers["Content-Type"])
	require.NotContains(t, resp.Body, "secret-table-name")
	require.NotContains(t, resp.Body, "10.0.0.7")
}
