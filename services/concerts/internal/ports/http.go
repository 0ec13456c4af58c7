// Package ports adapts the application to its Lambda triggers: API Gateway HTTP API
// (payload 2.0) handlers for the REST routes (the write routes decorated by
// Idempotency), and the EventBridge Pipe enricher.
package ports

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/tracing"

	"github.com/concertsys/services/concerts/internal/app"
)

// Route keys of the REST API this service serves.
const (
	RouteSchedule   = "POST /concerts"
	RouteUpdate     = "PATCH /concerts/{id}"
	RouteReschedule = "POST /concerts/{id}/reschedule"
	RouteTickets    = "POST /concerts/{id}/tickets"
	RouteCancel     = "POST /concerts/{id}/cancel"
	RouteEvents     = "GET /concerts/{id}/events"
)

// UseCases are the application's commands and queries the handlers call.
type UseCases struct {
	ScheduleConcert   *app.ScheduleConcert
	UpdateConcert     *app.UpdateConcert
	RescheduleConcert *app.RescheduleConcert
	SellTickets       *app.SellTickets
	CancelConcert     *app.CancelConcert
	GetConcertEvents  *app.GetConcertEvents
}

// HTTP holds the REST handlers.
type HTTP struct {
	uc     UseCases
	answer step // execute, decorated with idempotency
	newID  func() string
	logger *slog.Logger
}

// NewHTTP builds the handlers over uc; idem decorates the writes, newID names new
// concerts and requests without a correlation id.
func NewHTTP(uc UseCases, idem *Idempotency, newID func() string, logger *slog.Logger) *HTTP {
	if logger == nil {
		logger = slog.Default()
	}
	h := &HTTP{uc: uc, newID: newID, logger: logger}
	h.answer = idem.Wrap(h.execute)
	return h
}

// Handler is an API Gateway HTTP API (payload 2.0) handler.
type Handler = func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// run executes a decoded write on concert id.
type run func(ctx context.Context, id string, meta app.Meta) (app.Result, error)

// decoder reads a write's body into the run that executes it.
type decoder func(req events.APIGatewayV2HTTPRequest) (run, error)

// write is a decoded write request.
type write struct {
	route       string
	create      bool // POST /concerts: the id is new, the answer 201 with Location
	id          string
	ifMatch     *int64
	correlation string
	causation   string
	run         run
}

// ScheduleConcert handles POST /concerts.
func (h *HTTP) ScheduleConcert(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, RouteSchedule, h.decodeSchedule)
}

// UpdateConcert handles PATCH /concerts/{id}.
func (h *HTTP) UpdateConcert(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, RouteUpdate, h.decodeUpdate)
}

// RescheduleConcert handles POST /concerts/{id}/reschedule.
func (h *HTTP) RescheduleConcert(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, RouteReschedule, h.decodeReschedule)
}

// SellTickets handles POST /concerts/{id}/tickets.
func (h *HTTP) SellTickets(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, RouteTickets, h.decodeTickets)
}

// CancelConcert handles POST /concerts/{id}/cancel.
func (h *HTTP) CancelConcert(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, RouteCancel, h.decodeCancel)
}

// eventView is one event of GET /concerts/{id}/events.
type eventView struct {
	EventID     string          `json:"eventId"`
	AggregateID string          `json:"aggregateId"`
	Version     int64           `json:"version"`
	Type        string          `json:"type"`
	OccurredAt  time.Time       `json:"occurredAt"`
	Data        json.RawMessage `json:"data"`
}

type eventsResponse struct {
	Events []eventView `json:"events"`
	// NextCursor is set when the history goes on: pass it as ?cursor= for the rest.
	NextCursor string `json:"nextCursor,omitempty"`
}

// eventsParams are the query parameters GET /concerts/{id}/events accepts.
var eventsParams = []string{"limit", "cursor"}

// GetConcertEvents handles GET /concerts/{id}/events[?limit=<1..1000>&cursor=<nextCursor>].
// The page is read from the log with the limit, so its cost follows the page size.
func (h *HTTP) GetConcertEvents(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, err error) {
	defer h.recoverPanic(ctx, RouteEvents, &resp, &err)
	id := req.PathParameters["id"]
	instance := path(req, RouteEvents, id)
	if !idPattern.MatchString(id) {
		return h.errorResponse(ctx, app.ErrNotFound, instance), nil
	}
	q, err := httpapi.Query(req, eventsParams...)
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	limit, err := parseQueryInt(q, "limit", 1, app.MaxEventsLimit, app.DefaultEventsLimit)
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	var after int64
	if raw, ok := q["cursor"]; ok {
		if after, err = decodeEventsCursor(id, raw); err != nil {
			return h.errorResponse(ctx, err, instance), nil
		}
	}
	page, err := h.uc.GetConcertEvents.Handle(ctx, app.GetConcertEventsInput{ID: id, After: after, Limit: int(limit)})
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	out := eventsResponse{Events: make([]eventView, len(page.Events))}
	for i, e := range page.Events {
		out.Events[i] = eventView{EventID: e.EventID, AggregateID: e.AggregateID, Version: e.Version,
			Type: e.EventType, OccurredAt: e.OccurredAt.UTC(), Data: e.Data}
	}
	if page.More {
		out.NextCursor = encodeEventsCursor(id, page.Events[len(page.Events)-1].Version)
	}
	return httpapi.JSON(http.StatusOK, out, nil), nil
}

// write runs the shared part of every write route: it decodes the request, then
// answers it through the idempotency decorator; errors become problems here, once.
func (h *HTTP) write(ctx context.Context, req events.APIGatewayV2HTTPRequest, route string, decode decoder) (resp events.APIGatewayV2HTTPResponse, err error) {
	defer h.recoverPanic(ctx, route, &resp, &err)
	w, err := h.decodeWrite(req, route, decode)
	if err != nil {
		return h.errorResponse(ctx, err, path(req, route, req.PathParameters["id"])), nil
	}
	resp, err = h.answer(ctx, req, w)
	if err != nil {
		return h.errorResponse(ctx, err, path(req, route, req.PathParameters["id"])), nil
	}
	return resp, nil
}

// decodeWrite reads what every write carries (concert id, If-Match, correlation id)
// and its body.
func (h *HTTP) decodeWrite(req events.APIGatewayV2HTTPRequest, route string, decode decoder) (write, error) {
	w := write{route: route, create: route == RouteSchedule, id: req.PathParameters["id"]}
	if !w.create && !idPattern.MatchString(w.id) {
		return write{}, app.ErrNotFound
	}
	var err error
	if w.ifMatch, err = parseIfMatch(req); err != nil {
		return write{}, err
	}
	if w.correlation, err = correlationID(req); err != nil {
		return write{}, err
	}
	if w.run, err = decode(req); err != nil {
		return write{}, err
	}
	if w.create {
		w.id = h.newID()
	}
	if w.correlation == "" { // no header and no API Gateway request id (a bare invocation)
		w.correlation = h.newID()
	}
	w.causation = req.RequestContext.RequestID // the decorator puts the Idempotency-Key here
	if w.causation == "" {
		w.causation = w.correlation
	}
	return w, nil
}

// execute runs a decoded write. A final outcome is a response; an error is a failure
// the client should retry.
func (h *HTTP) execute(ctx context.Context, req events.APIGatewayV2HTTPRequest, w write) (events.APIGatewayV2HTTPResponse, error) {
	ctx = tracing.WithIDs(ctx, tracing.IDs{CorrelationID: w.correlation, CausationID: w.causation})
	res, err := w.run(ctx, w.id, app.Meta{CorrelationID: w.correlation, CausationID: w.causation, IfMatch: w.ifMatch})
	if err == nil {
		return respond(w, res), nil
	}
	if _, final := problemFor(err); !final {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return h.errorResponse(ctx, err, path(req, w.route, w.id)), nil
}

// respond is the answer of a write that succeeded.
func respond(w write, res app.Result) events.APIGatewayV2HTTPResponse {
	status, headers := http.StatusOK, map[string]string{"ETag": etag(res.Version)}
	if w.create {
		status, headers["Location"] = http.StatusCreated, "/concerts/"+res.ID
	}
	return httpapi.JSON(status, res, headers)
}

// recoverPanic is the last line of defence: a bug must not crash the function or
// answer anything but a problem.
func (h *HTTP) recoverPanic(ctx context.Context, route string, resp *events.APIGatewayV2HTTPResponse, err *error) {
	if r := recover(); r != nil {
		h.logger.ErrorContext(ctx, "handler panicked", "route", route, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*resp = httpapi.ProblemResponse(httpapi.NewProblem(http.StatusInternalServerError, "internal error; retry later"), "")
		*err = nil
	}
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func path(req events.APIGatewayV2HTTPRequest, route, id string) string {
	if req.RawPath != "" {
		return req.RawPath
	}
	switch route {
	case RouteSchedule:
		return "/concerts"
	case RouteUpdate:
		return "/concerts/" + id
	case RouteReschedule:
		return "/concerts/" + id + "/reschedule"
	case RouteTickets:
		return "/concerts/" + id + "/tickets"
	case RouteCancel:
		return "/concerts/" + id + "/cancel"
	default:
		return "/concerts/" + id + "/events"
	}
}
