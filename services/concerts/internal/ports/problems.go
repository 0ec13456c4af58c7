package ports

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/httpapi"

	"github.com/concertsys/services/concerts/internal/app"
	"github.com/concertsys/services/concerts/internal/domain"
)

// problemRule maps the errors matching err (errors.Is) to a problem.
type problemRule struct {
	err    error
	status int
	kind   string // the problem type's suffix (urn:concertsys:problem:<kind>); "" = none
	detail string // "" = the error's own text
	// retry: the answer is not the request's for good (a lost race, a busy key), so it
	// is not stored for replay and the client should try again.
	retry bool
}

// problemTable is the one error→problem table of every handler. Errors it does not
// know are infrastructure failures: logged in full, answered with a 500 that leaks
// nothing. *httpapi.Problem, *domain.ValidationError and *app.PreconditionError carry
// their own text (see problemFor).
var problemTable = []problemRule{
	{err: app.ErrNotFound, status: http.StatusNotFound, detail: "no concert has this id"},
	{err: domain.ErrSoldOut, status: http.StatusConflict, kind: "sold-out", detail: "the concert is sold out"},
	{err: domain.ErrNotEnoughTickets, status: http.StatusConflict, kind: "not-enough-tickets"},
	{err: domain.ErrCancelled, status: http.StatusConflict, kind: "concert-cancelled", detail: "the concert is cancelled; it only answers reads"},
	{err: domain.ErrStarted, status: http.StatusConflict, kind: "concert-started"},
	{err: app.ErrAlreadyExists, status: http.StatusConflict, kind: "concert-exists", detail: "a concert with this id already exists"},
	{err: app.ErrContention, status: http.StatusConflict, kind: "concurrent-modification",
		detail: "the concert was changed concurrently too often; retry the request", retry: true},
	{err: ErrInProgress, status: http.StatusConflict, kind: "idempotency-in-progress",
		detail: "a request with this Idempotency-Key is in progress; retry later", retry: true},
	{err: ErrKeyReused, status: http.StatusUnprocessableEntity, kind: "idempotency-key-reused",
		detail: "this Idempotency-Key was used for a different request"},
}

// problemFor maps err to its problem; final says the problem is the request's answer
// for good. A nil problem is an unknown error (500, not final).
func problemFor(err error) (p *httpapi.Problem, final bool) {
	var (
		valid *domain.ValidationError
		pre   *app.PreconditionError
	)
	switch {
	case errors.As(err, &p):
		return p, p.Status < 500
	case errors.As(err, &valid):
		return httpapi.NewProblem(http.StatusBadRequest, valid.Error()), true
	case errors.As(err, &pre):
		return httpapi.NewProblem(http.StatusPreconditionFailed, fmt.Sprintf("If-Match %s is stale: %s", etag(pre.Expected), pre.Error())), true
	}
	for _, r := range problemTable {
		if errors.Is(err, r.err) {
			return r.problem(err), !r.retry
		}
	}
	return nil, false
}

func (r problemRule) problem(err error) *httpapi.Problem {
	detail := r.detail
	if detail == "" {
		detail = err.Error()
	}
	p := httpapi.NewProblem(r.status, detail)
	if r.kind != "" {
		p.Type = "urn:concertsys:problem:" + r.kind
	}
	return p
}

// errorResponse answers err with its problem, logging unknown errors.
func (h *HTTP) errorResponse(ctx context.Context, err error, instance string) events.APIGatewayV2HTTPResponse {
	p, _ := problemFor(err)
	if p == nil {
		h.logger.ErrorContext(ctx, "request failed", "instance", instance, "error", err)
		p = httpapi.NewProblem(http.StatusInternalServerError, "internal error; retry later")
	}
	return httpapi.ProblemResponse(p, instance)
}
