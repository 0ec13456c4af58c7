// Package ports adapts the application to its Lambda triggers: API Gateway HTTP API
// (payload 2.0) handlers for the REST routes, and the EventBridge Pipe enricher.
package ports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/httpapi"

	"github.com/concertsys/services/concerts/internal/app"
	"github.com/concertsys/services/concerts/internal/domain"
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

// HTTP holds the REST handlers.
type HTTP struct {
	app    *app.App
	logger *slog.Logger
}

// NewHTTP builds the handlers over a.
func NewHTTP(a *app.App, logger *slog.Logger) *HTTP {
	if logger == nil {
		logger = slog.Default()
	}
	return &HTTP{app: a, logger: logger}
}

// Handler is an API Gateway HTTP API (payload 2.0) handler.
type Handler = func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// writeRoute describes one write: how to decode its body and what to run.
type writeRoute struct {
	route  string
	create bool // POST /concerts: the id is new, the answer 201 with Location
	decode func(req events.APIGatewayV2HTTPRequest) (exec, error)
}

type exec func(ctx context.Context, id string, meta app.Meta) (app.Result, error)

// ScheduleConcert handles POST /concerts.
func (h *HTTP) ScheduleConcert(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, writeRoute{route: RouteSchedule, create: true, decode: func(req events.APIGatewayV2HTTPRequest) (exec, error) {
		var body scheduleRequest
		if err := httpapi.DecodeJSON(req, &body); err != nil {
			return nil, err
		}
		if err := required(map[string]bool{"artist": body.Artist != nil, "venue": body.Venue != nil,
			"startsAt": body.StartsAt != nil, "capacity": body.Capacity != nil, "priceCents": body.PriceCents != nil}); err != nil {
			return nil, err
		}
		startsAt, err := parseStartsAt(*body.StartsAt)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
			return h.app.ScheduleConcert(ctx, app.ScheduleConcert{ID: id, Artist: *body.Artist, Venue: *body.Venue,
				StartsAt: startsAt, Capacity: *body.Capacity, PriceCents: *body.PriceCents}, meta)
		}, nil
	}})
}

// UpdateConcert handles PATCH /concerts/{id}.
func (h *HTTP) UpdateConcert(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, writeRoute{route: RouteUpdate, decode: func(req events.APIGatewayV2HTTPRequest) (exec, error) {
		var body updateRequest
		if err := httpapi.DecodeJSON(req, &body); err != nil {
			return nil, err
		}
		if body.Artist == nil && body.Venue == nil && body.PriceCents == nil {
			return nil, httpapi.NewProblem(http.StatusBadRequest, `body must set at least one of "artist", "venue", "priceCents"`)
		}
		return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
			return h.app.UpdateConcert(ctx, app.UpdateConcert{ID: id, Artist: body.Artist, Venue: body.Venue, PriceCents: body.PriceCents}, meta)
		}, nil
	}})
}

// RescheduleConcert handles POST /concerts/{id}/reschedule.
func (h *HTTP) RescheduleConcert(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, writeRoute{route: RouteReschedule, decode: func(req events.APIGatewayV2HTTPRequest) (exec, error) {
		var body rescheduleRequest
		if err := httpapi.DecodeJSON(req, &body); err != nil {
			return nil, err
		}
		if err := required(map[string]bool{"startsAt": body.StartsAt != nil}); err != nil {
			return nil, err
		}
		startsAt, err := parseStartsAt(*body.StartsAt)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
			return h.app.RescheduleConcert(ctx, app.RescheduleConcert{ID: id, StartsAt: startsAt}, meta)
		}, nil
	}})
}

// SellTickets handles POST /concerts/{id}/tickets.
func (h *HTTP) SellTickets(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, writeRoute{route: RouteTickets, decode: func(req events.APIGatewayV2HTTPRequest) (exec, error) {
		var body ticketsRequest
		if err := httpapi.DecodeJSON(req, &body); err != nil {
			return nil, err
		}
		if err := required(map[string]bool{"quantity": body.Quantity != nil}); err != nil {
			return nil, err
		}
		return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
			return h.app.SellTickets(ctx, app.SellTickets{ID: id, Quantity: *body.Quantity}, meta)
		}, nil
	}})
}

// CancelConcert handles POST /concerts/{id}/cancel.
func (h *HTTP) CancelConcert(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.write(ctx, req, writeRoute{route: RouteCancel, decode: func(req events.APIGatewayV2HTTPRequest) (exec, error) {
		var body cancelRequest
		if err := httpapi.DecodeJSON(req, &body); err != nil {
			return nil, err
		}
		if err := required(map[string]bool{"reason": body.Reason != nil}); err != nil {
			return nil, err
		}
		return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
			return h.app.CancelConcert(ctx, app.CancelConcert{ID: id, Reason: *body.Reason}, meta)
		}, nil
	}})
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
	// NextAfter is set when the history goes on: pass it as ?after= for the rest.
	NextAfter *int64 `json:"nextAfter,omitempty"`
}

// GetConcertEvents handles GET /concerts/{id}/events[?after=<version>&limit=<1..1000>].
func (h *HTTP) GetConcertEvents(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, err error) {
	defer h.recoverPanic(ctx, RouteEvents, &resp, &err)
	id := req.PathParameters["id"]
	instance := path(req, RouteEvents, id)
	if !idPattern.MatchString(id) {
		return httpapi.ProblemResponse(notFound(), instance), nil
	}
	after, err := parseQueryInt(req, "after", 0, 1<<62, 0)
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	limit, err := parseQueryInt(req, "limit", 1, app.MaxEventsLimit, app.DefaultEventsLimit)
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	page, err := h.app.GetConcertEvents(ctx, app.GetConcertEvents{ID: id, After: after, Limit: int(limit)})
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	out := eventsResponse{Events: make([]eventView, len(page.Events))}
	for i, e := range page.Events {
		out.Events[i] = eventView{EventID: e.EventID, AggregateID: e.AggregateID, Version: e.Version,
			Type: e.EventType, OccurredAt: e.OccurredAt.UTC(), Data: e.Data}
	}
	if page.More {
		next := page.Events[len(page.Events)-1].Version
		out.NextAfter = &next
	}
	return httpapi.JSON(http.StatusOK, out, nil), nil
}

// write runs the shared part of every write route: headers, body, idempotency and the
// mapping of errors to problems.
func (h *HTTP) write(ctx context.Context, req events.APIGatewayV2HTTPRequest, w writeRoute) (resp events.APIGatewayV2HTTPResponse, err error) {
	defer h.recoverPanic(ctx, w.route, &resp, &err)
	id := req.PathParameters["id"]
	instance := path(req, w.route, id)
	if !w.create && !idPattern.MatchString(id) {
		return httpapi.ProblemResponse(notFound(), instance), nil
	}
	ifMatch, err := parseIfMatch(req)
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	key, err := idempotencyKey(req)
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	correlation, err := correlationID(req)
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	run, err := w.decode(req)
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	if w.create {
		id = h.app.NewID()
	}
	causation := key
	if causation == "" {
		causation = req.RequestContext.RequestID
	}
	if correlation == "" { // no header and no API Gateway request id (a bare invocation)
		correlation = h.app.NewID()
	}
	if causation == "" {
		causation = correlation
	}
	meta := app.Meta{CorrelationID: correlation, CausationID: causation, IfMatch: ifMatch}
	respond := func(res app.Result) app.StoredResponse {
		status, headers := http.StatusOK, map[string]string{"ETag": etag(res.Version)}
		if w.create {
			status, headers["Location"] = http.StatusCreated, "/concerts/"+res.ID
		}
		r := httpapi.JSON(status, res, headers)
		return app.StoredResponse{Status: r.StatusCode, Headers: r.Headers, Body: r.Body}
	}
	execute := func(ctx context.Context, id string) (app.StoredResponse, error) {
		res, err := run(ctx, id, meta)
		if err != nil {
			if !final(err) {
				return app.StoredResponse{}, err
			}
			p := h.errorResponse(ctx, err, path(req, w.route, id))
			return app.StoredResponse{Status: p.StatusCode, Headers: p.Headers, Body: p.Body}, nil
		}
		return respond(res), nil
	}
	if key == "" {
		stored, err := execute(ctx, id)
		if err != nil {
			return h.errorResponse(ctx, err, instance), nil
		}
		return toResponse(stored), nil
	}
	body, _ := httpapi.Body(req) // decode succeeded, so the body is readable
	stored, _, err := h.app.Idempotent(ctx, app.IdempotentRequest{Key: key, Fingerprint: fingerprint(w.route, req.PathParameters["id"], ifMatch, body), AggregateID: id},
		execute, func(id string, version int64) app.StoredResponse {
			return respond(app.Result{ID: id, Version: version})
		})
	if err != nil {
		return h.errorResponse(ctx, err, instance), nil
	}
	return toResponse(stored), nil
}

// final says whether an error's response is the request's answer for good (stored
// for replay), as opposed to a failure the client should retry.
func final(err error) bool {
	var p *httpapi.Problem
	switch {
	case errors.As(err, &p):
		return p.Status < 500
	case errors.Is(err, domain.ErrInvalid), errors.Is(err, app.ErrNotFound), errors.Is(err, app.ErrPreconditionFailed),
		errors.Is(err, domain.ErrSoldOut), errors.Is(err, domain.ErrNotEnoughTickets),
		errors.Is(err, domain.ErrCancelled), errors.Is(err, domain.ErrStarted), errors.Is(err, app.ErrAlreadyExists):
		return true
	default:
		return false
	}
}

// errorResponse maps an error to its problem. Unknown errors are infrastructure
// failures: logged in full, answered with a 500 that leaks nothing.
func (h *HTTP) errorResponse(ctx context.Context, err error, instance string) events.APIGatewayV2HTTPResponse {
	var (
		p     *httpapi.Problem
		valid *domain.ValidationError
		pre   *app.PreconditionError
	)
	switch {
	case errors.As(err, &p):
	case errors.As(err, &valid):
		p = httpapi.NewProblem(http.StatusBadRequest, valid.Error())
	case errors.Is(err, app.ErrNotFound):
		p = notFound()
	case errors.As(err, &pre):
		p = httpapi.NewProblem(http.StatusPreconditionFailed, fmt.Sprintf("If-Match %s is stale: %s", etag(pre.Expected), pre.Error()))
	case errors.Is(err, domain.ErrSoldOut):
		p = typed(http.StatusConflict, "sold-out", "the concert is sold out")
	case errors.Is(err, domain.ErrNotEnoughTickets):
		p = typed(http.StatusConflict, "not-enough-tickets", err.Error())
	case errors.Is(err, domain.ErrCancelled):
		p = typed(http.StatusConflict, "concert-cancelled", "the concert is cancelled; it only answers reads")
	case errors.Is(err, domain.ErrStarted):
		p = typed(http.StatusConflict, "concert-started", err.Error())
	case errors.Is(err, app.ErrAlreadyExists):
		p = typed(http.StatusConflict, "concert-exists", "a concert with this id already exists")
	case errors.Is(err, app.ErrContention):
		p = typed(http.StatusConflict, "concurrent-modification", "the concert was changed concurrently too often; retry the request")
	case errors.Is(err, app.ErrInProgress):
		p = typed(http.StatusConflict, "idempotency-in-progress", "a request with this Idempotency-Key is in progress; retry later")
	case errors.Is(err, app.ErrKeyReused):
		p = typed(http.StatusUnprocessableEntity, "idempotency-key-reused", "this Idempotency-Key was used for a different request")
	default:
		h.logger.ErrorContext(ctx, "request failed", "instance", instance, "error", err)
		p = httpapi.NewProblem(http.StatusInternalServerError, "internal error; retry later")
	}
	return httpapi.ProblemResponse(p, instance)
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

func typed(status int, kind, detail string) *httpapi.Problem {
	p := httpapi.NewProblem(status, detail)
	p.Type = "urn:concertsys:problem:" + kind
	return p
}

func notFound() *httpapi.Problem {
	return httpapi.NewProblem(http.StatusNotFound, "no concert has this id")
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

// fingerprint identifies a request for idempotency: same route, same concert, same
// precondition, same bytes. A retry with another If-Match is another request (422),
// not a replay of an answer to a precondition it did not send. Without If-Match (or
// with "*") the hash is what it was before If-Match counted, so stored keys still match.
func fingerprint(route, id string, ifMatch *int64, body []byte) string {
	h := sha256.New()
	h.Write([]byte(route + "\x00" + id + "\x00"))
	if ifMatch != nil {
		h.Write([]byte("if-match:" + strconv.FormatInt(*ifMatch, 10) + "\x00"))
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func toResponse(s app.StoredResponse) events.APIGatewayV2HTTPResponse {
	headers := make(map[string]string, len(s.Headers))
	for k, v := range s.Headers {
		headers[k] = v
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: s.Status, Headers: headers, Body: s.Body}
}
