package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/tracing"
	"github.com/concertsys/tools/devstack/board"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/eventpattern"
	"github.com/concertsys/tools/local/localauth"
	"github.com/concertsys/tools/local/spanstore"
)

// Paths of the inspector: a page of the board, its read endpoints (public, like the
// board's reads) and its one action, redrive (organizer token, like the writes).
const (
	InspectorPath      = "/inspector"
	InspectorAPIPath   = "/_devstack/inspector/"
	inspectorRedrive   = InspectorAPIPath + "dead-letters/redrive"
	timelineMaxEvents  = 50  // newest events of a concert a timeline shows
	latencyMaxTraces   = 500 // newest commands the latency panel summarizes
	deadLetterPageSize = 100
)

func (s *Stack) inspectorRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+InspectorPath, board.InspectorHandler())
	mux.Handle("GET "+InspectorAPIPath+"timeline/{id}", s.external(http.HandlerFunc(s.serveTimeline), true))
	mux.Handle("GET "+InspectorAPIPath+"traces/{traceId}", s.external(http.HandlerFunc(s.serveTrace), true))
	mux.Handle("GET "+InspectorAPIPath+"subscriptions", s.external(http.HandlerFunc(s.serveSubscriptions), true))
	mux.Handle("GET "+InspectorAPIPath+"dead-letters", s.external(http.HandlerFunc(s.serveInspectorDeadLetters), true))
	mux.Handle("POST "+inspectorRedrive, s.external(http.HandlerFunc(s.serveInspectorRedrive), true))
	mux.Handle("GET "+InspectorAPIPath+"latency", s.external(http.HandlerFunc(s.serveLatency), true))
	mux.Handle("GET "+InspectorAPIPath+"stream", s.external(http.HandlerFunc(s.serveStream), false))
}

// Hop is one span of an event's path, timed from the start of the path's first span.
type Hop struct {
	Name       string            `json:"name"`
	SpanID     string            `json:"spanId"`
	ParentID   string            `json:"parentId,omitempty"`
	Depth      int               `json:"depth"`
	StartMs    float64           `json:"startMs"`
	DurationMs float64           `json:"durationMs"`
	Failed     bool              `json:"failed,omitempty"`
	Error      string            `json:"error,omitempty"`
	Attrs      map[string]string `json:"attrs,omitempty"`
}

// TimelineEvent is one event of a concert's history with the path it took.
type TimelineEvent struct {
	Version    int64     `json:"version"`
	Type       string    `json:"type"`
	EventID    string    `json:"eventId"`
	OccurredAt time.Time `json:"occurredAt"`
	TraceID    string    `json:"traceId,omitempty"`
	// From the spans: the Pipe's stream record, the bus event ids and rules it was
	// delivered to, the view version it produced and the WebSocket posts it caused.
	StreamRecord string   `json:"streamRecord,omitempty"`
	PipeBatch    string   `json:"pipeBatch,omitempty"` // records in the Pipe's batch
	BusEventIDs  []string `json:"busEventIds,omitempty"`
	Rules        []string `json:"rules,omitempty"`
	ViewVersion  string   `json:"viewVersion,omitempty"`
	WSSent       int      `json:"wsSent"`
	TotalMs      float64  `json:"totalMs"`
	Hops         []Hop    `json:"hops"`
}

// Timeline is GET …/timeline/{id}.
type Timeline struct {
	ConcertID string          `json:"concertId"`
	Events    []TimelineEvent `json:"events"`
	Spans     spanstore.Stats `json:"spans"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// pathOf is the path of one event: the enrichment span of that event, its ancestors
// (the write and its append) and every descendant (deliveries, consumers, the
// publish of the view and its own deliveries, the fan-out).
func pathOf(trace []spanstore.Span, enrich spanstore.Span) []Hop {
	byID := map[string]spanstore.Span{}
	children := map[string][]spanstore.Span{}
	for _, sp := range trace {
		byID[sp.SpanID] = sp
		children[sp.ParentID] = append(children[sp.ParentID], sp)
	}
	var spans []spanstore.Span
	for id := enrich.ParentID; id != ""; {
		p, ok := byID[id]
		if !ok {
			break
		}
		spans = append(spans, p)
		id = p.ParentID
	}
	queue := []spanstore.Span{enrich}
	for len(queue) > 0 {
		sp := queue[0]
		queue = queue[1:]
		spans = append(spans, sp)
		queue = append(queue, children[sp.SpanID]...)
	}
	depth := map[string]int{}
	var depthOf func(sp spanstore.Span) int
	depthOf = func(sp spanstore.Span) int {
		if d, ok := depth[sp.SpanID]; ok {
			return d
		}
		d := 0
		if p, ok := byID[sp.ParentID]; ok && p.SpanID != sp.SpanID {
			d = depthOf(p) + 1
		}
		depth[sp.SpanID] = d
		return d
	}
	slices.SortStableFunc(spans, func(a, b spanstore.Span) int { return a.Start.Compare(b.Start) })
	out := make([]Hop, len(spans))
	for i, sp := range spans {
		out[i] = Hop{Name: sp.Name, SpanID: sp.SpanID, ParentID: sp.ParentID, Depth: depthOf(sp),
			StartMs: ms(sp.Start.Sub(spans[0].Start)), DurationMs: ms(sp.Duration()), Failed: sp.Failed, Error: sp.Error, Attrs: sp.Attrs}
	}
	return out
}

func (s *Stack) serveTimeline(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	evs, more, err := s.events.LoadPage(r.Context(), id, 0, eventlog.MaxPageLimit)
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusInternalServerError, "read the event log: "+err.Error())
		return
	}
	for more && len(evs) > 0 { // keep the newest page of a long history
		var next []eventlog.Event
		if next, more, err = s.events.LoadPage(r.Context(), id, evs[len(evs)-1].Version, eventlog.MaxPageLimit); err != nil || len(next) == 0 {
			break
		}
		evs = next
	}
	if len(evs) > timelineMaxEvents {
		evs = evs[len(evs)-timelineMaxEvents:]
	}
	httpapi.WriteJSON(w, http.StatusOK, s.timeline(id, evs))
}

// timeline joins a concert's events with the spans of their paths.
func (s *Stack) timeline(id string, evs []eventlog.Event) Timeline {
	wanted := map[string]bool{}
	for _, e := range evs {
		wanted[e.EventID] = true
	}
	enrichOf := map[string]spanstore.Span{}
	traces := map[string]bool{}
	for _, sp := range s.spans.Select(func(sp spanstore.Span) bool {
		return sp.Name == enrichSpan && wanted[sp.Attrs[string(tracing.AttrEventID)]]
	}) {
		eid := sp.Attrs[string(tracing.AttrEventID)]
		if _, seen := enrichOf[eid]; !seen {
			enrichOf[eid] = sp
			traces[sp.TraceID] = true
		}
	}
	byTrace := map[string][]spanstore.Span{}
	for _, sp := range s.spans.Select(func(sp spanstore.Span) bool { return traces[sp.TraceID] }) {
		byTrace[sp.TraceID] = append(byTrace[sp.TraceID], sp)
	}
	out := Timeline{ConcertID: id, Events: make([]TimelineEvent, 0, len(evs)), Spans: s.spans.Stats()}
	for _, e := range evs {
		te := TimelineEvent{Version: e.Version, Type: e.EventType, EventID: e.EventID, OccurredAt: e.OccurredAt,
			TraceID: tracing.TraceIDOf(e.TraceParent), Hops: []Hop{}}
		if enrich, ok := enrichOf[e.EventID]; ok {
			te.Hops = pathOf(byTrace[enrich.TraceID], enrich)
			te.StreamRecord = enrich.Attrs["aws.dynamodb.stream.event_id"]
			te.PipeBatch = enrich.Attrs["concertsys.pipe.batch_records"]
			summarize(&te)
		}
		out.Events = append(out.Events, te)
	}
	return out
}

// enrichSpan is the span name of the enricher (concerts' SpanEnrich; devstack
// names it from the service description so it does not import the service's ports).
const enrichSpan = "concerts/enrich-events"

func summarize(te *TimelineEvent) {
	rules := map[string]bool{}
	end := 0.0
	for _, h := range te.Hops {
		end = max(end, h.StartMs+h.DurationMs)
		switch {
		case strings.HasPrefix(h.Name, SpanBusDelivery+" "):
			rule := h.Attrs["messaging.destination.name"]
			if !rules[rule] {
				rules[rule] = true
				te.Rules = append(te.Rules, rule)
			}
			if id := h.Attrs["messaging.message.id"]; id != "" && !slices.Contains(te.BusEventIDs, id) {
				te.BusEventIDs = append(te.BusEventIDs, id)
			}
		case strings.Contains(h.Name, "PutEvents") && !h.Failed:
			te.ViewVersion = h.Attrs[string(tracing.AttrVersion)]
		}
		if n, err := strconv.Atoi(h.Attrs["concertsys.ws.sent"]); err == nil {
			te.WSSent += n
		}
	}
	te.TotalMs = end
}

func (s *Stack) serveTrace(w http.ResponseWriter, r *http.Request) {
	spans := s.spans.Trace(r.PathValue("traceId"))
	if len(spans) == 0 {
		httpapi.WriteProblem(w, r, http.StatusNotFound, "no span of this trace in the span store (it keeps the newest "+strconv.Itoa(s.spans.Stats().Limit)+")")
		return
	}
	hops := make([]Hop, len(spans))
	for i, sp := range spans {
		hops[i] = Hop{Name: sp.Name, SpanID: sp.SpanID, ParentID: sp.ParentID, StartMs: ms(sp.Start.Sub(spans[0].Start)),
			DurationMs: ms(sp.Duration()), Failed: sp.Failed, Error: sp.Error, Attrs: sp.Attrs}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"traceId": r.PathValue("traceId"), "hops": hops})
}

// Subscription is one rule with what the bus did for it since devstack started.
type Subscription struct {
	Rule    string          `json:"rule"`
	Pattern json.RawMessage `json:"pattern"`
	Target  string          `json:"target"`
	ruleCounts
}

func (s *Stack) serveSubscriptions(w http.ResponseWriter, r *http.Request) {
	counts := s.inspect.ruleStats()
	var out []Subscription
	for _, ri := range s.bus.Rules() {
		out = append(out, Subscription{Rule: ri.Name, Pattern: json.RawMessage(ri.EventPattern), Target: ri.TargetARN, ruleCounts: counts[ri.Name]})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"subscriptions": out, "bus": s.bus.Stats()})
}

func (s *Stack) serveInspectorDeadLetters(w http.ResponseWriter, r *http.Request) {
	dls, next, err := s.bus.DeadLetterPage(r.Context(), deadLetterPageSize, r.URL.Query().Get("cursor"))
	if errors.Is(err, bus.ErrBadCursor) {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if dls == nil {
		dls = []bus.DeadLetter{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"deadLetters": dls, "nextCursor": next})
}

// serveInspectorRedrive redrives dead letters by id: an action, so it takes the
// organizer token the writes take (when auth is on), besides the same-origin rule
// every state change in devstack follows.
func (s *Stack) serveInspectorRedrive(w http.ResponseWriter, r *http.Request) {
	if s.issuer != nil {
		claims, err := s.issuer.Verifier().Verify(localauth.BearerToken(r.Header.Get("Authorization")))
		if err != nil {
			w.Header().Set("WWW-Authenticate", "Bearer")
			httpapi.WriteProblem(w, r, http.StatusUnauthorized, "redrive needs an organizer token")
			return
		}
		if err := localauth.RequireGroup(claims, localauth.OrganizersGroup); err != nil {
			httpapi.WriteProblem(w, r, http.StatusForbidden, "redrive needs an organizer token")
			return
		}
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || len(req.IDs) == 0 || len(req.IDs) > deadLetterPageSize {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, fmt.Sprintf(`body must be {"ids":[…]} with 1..%d dead-letter ids`, deadLetterPageSize))
		return
	}
	n, err := s.bus.Redrive(r.Context(), req.IDs...)
	if errors.Is(err, bus.ErrDeadLetterMissing) {
		httpapi.WriteProblem(w, r, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"redriven": n})
}

// Stage latencies of the latency panel, each from the start of the write (the HTTP
// span) to the end of the stage's span in the same trace.
var latencyStages = []struct{ name, span string }{
	{"write", ""}, // the write's own span
	{"log", eventlog.SpanAppend},
	{"bus", SpanBusDelivery + " "}, // the start of the first delivery
	{"view", "projections/project-concerts"},
	{"websocket", "notifications/fan-out"},
}

// LatencyStage is one stage's percentiles over the newest traced writes.
type LatencyStage struct {
	Stage string  `json:"stage"`
	Count int     `json:"count"`
	P50Ms float64 `json:"p50Ms"`
	P99Ms float64 `json:"p99Ms"`
}

func (s *Stack) serveLatency(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"stages": latencies(s.spans, latencyMaxTraces)})
}

// latencies computes the stages over the newest maxTraces traces that start with a
// write (an HTTP span of concerts).
func latencies(store *spanstore.Store, maxTraces int) []LatencyStage {
	var roots []spanstore.Span
	for _, sp := range store.Select(func(sp spanstore.Span) bool {
		return sp.Attrs["http.route"] != "" && strings.HasPrefix(sp.Name, "concerts/") && sp.Attrs["http.request.method"] != http.MethodGet
	}) {
		roots = append(roots, sp)
	}
	if len(roots) > maxTraces {
		roots = roots[len(roots)-maxTraces:]
	}
	want := map[string]spanstore.Span{}
	for _, root := range roots {
		want[root.TraceID] = root
	}
	samples := make([][]float64, len(latencyStages))
	firstEnd := map[string]map[int]time.Time{}
	for _, sp := range store.Select(func(sp spanstore.Span) bool { _, ok := want[sp.TraceID]; return ok && !sp.Failed }) {
		root := want[sp.TraceID]
		if firstEnd[sp.TraceID] == nil {
			firstEnd[sp.TraceID] = map[int]time.Time{}
		}
		for i, st := range latencyStages {
			var at time.Time
			switch {
			case i == 0 && sp.SpanID == root.SpanID:
				at = sp.End
			case i > 0 && strings.HasSuffix(st.span, " ") && strings.HasPrefix(sp.Name, st.span):
				at = sp.Start
			case i > 0 && sp.Name == st.span:
				at = sp.End
			default:
				continue
			}
			if prev, ok := firstEnd[sp.TraceID][i]; !ok || at.Before(prev) {
				firstEnd[sp.TraceID][i] = at
			}
		}
	}
	for tid, stages := range firstEnd {
		for i, at := range stages {
			samples[i] = append(samples[i], ms(at.Sub(want[tid].Start)))
		}
	}
	out := make([]LatencyStage, len(latencyStages))
	for i, st := range latencyStages {
		sort.Float64s(samples[i])
		out[i] = LatencyStage{Stage: st.name, Count: len(samples[i]), P50Ms: percentile(samples[i], 0.50), P99Ms: percentile(samples[i], 0.99)}
	}
	return out
}

// percentile is the nearest-rank percentile of sorted values (0 when empty).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// serveStream is the live bus stream as server-sent events: each event with the
// rules it matched, filtered by ?pattern= with the bus's own matcher. It holds one
// of the bus's bounded tails (429 beyond them).
func (s *Stack) serveStream(w http.ResponseWriter, r *http.Request) {
	pattern := []byte(r.URL.Query().Get("pattern"))
	if len(pattern) > 0 {
		if _, err := eventpattern.Compile(pattern); err != nil {
			httpapi.WriteProblem(w, r, http.StatusBadRequest, "pattern: "+err.Error())
			return
		}
	}
	type rule struct {
		name string
		m    *eventpattern.Pattern
	}
	var rules []rule
	for _, ri := range s.bus.Rules() {
		if m, err := eventpattern.Compile([]byte(ri.EventPattern)); err == nil {
			rules = append(rules, rule{ri.Name, m})
		}
	}
	ch, err := s.bus.Tail(r.Context(), pattern)
	if errors.Is(err, bus.ErrTooManyTails) {
		w.Header().Set("Retry-After", "5")
		httpapi.WriteProblem(w, r, http.StatusTooManyRequests, err.Error())
		return
	}
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{}) // a stream lasts as long as the page is open
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	for ev := range ch {
		raw, err := json.Marshal(ev)
		if err != nil {
			continue
		}
		matched := []string{}
		for _, ru := range rules {
			if ok, err := ru.m.Match(raw); err == nil && ok {
				matched = append(matched, ru.name)
			}
		}
		msg, _ := json.Marshal(map[string]any{"event": json.RawMessage(raw), "rules": matched,
			"traceId": tracing.TraceIDOf(eventTraceparent(ev.Detail))})
		if _, err := fmt.Fprintf(w, "data: %s\n\n", msg); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
