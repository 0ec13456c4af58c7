// Package ports adapts the sales use cases to their Lambda triggers: the bus rule,
// the HTTP API route and a direct invocation.
package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/services/sales/internal/app"
	"github.com/concertsys/services/sales/internal/domain"
)

// Record is the consumer behind the service's rule. An event it can never apply is
// logged and returned as an error, so the bus retries it and then keeps it in the
// dead-letter queue instead of dropping it.
func Record(uc *app.Record, logger *slog.Logger) subscription.Target {
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		added, err := uc.Handle(ctx, ev.Detail)
		if err != nil {
			logger.ErrorContext(ctx, "record event", "id", ev.ID, "detailType", ev.DetailType, "err", err)
			return fmt.Errorf("event %s (%s): %w", ev.ID, ev.DetailType, err)
		}
		logger.DebugContext(ctx, "recorded event", "id", ev.ID, "detailType", ev.DetailType, "new", added)
		return nil
	}
}

// Get serves the query route: 400 for a malformed id or query, 404 for an id no
// event named.
func Get(uc *app.Get, logger *slog.Logger) service.HTTPHandler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		id := req.PathParameters["id"]
		if !domain.IDPattern.MatchString(id) {
			return problem(req, http.StatusBadRequest, fmt.Sprintf("id must match %s", domain.IDPattern)), nil
		}
		q, err := httpapi.Query(req, "from")
		var p *httpapi.Problem
		if errors.As(err, &p) {
			return httpapi.ProblemResponse(p, req.RawPath), nil
		}
		var from time.Time
		if s, ok := q["from"]; ok {
			if from, err = time.Parse(time.RFC3339, s); err != nil {
				return problem(req, http.StatusBadRequest, "from must be an RFC 3339 time, as nextFrom gives it"), nil
			}
		}
		v, err := uc.Handle(ctx, id, from)
		switch {
		case errors.Is(err, app.ErrNotFound):
			return problem(req, http.StatusNotFound, "no event has named this id"), nil
		case err != nil:
			logger.ErrorContext(ctx, "get", "id", id, "err", err)
			return problem(req, http.StatusInternalServerError, "the store could not be read"), nil
		}
		return httpapi.JSON(http.StatusOK, v, map[string]string{"Cache-Control": "no-cache"}), nil
	}
}

// CatchUp is the catch-up job: invoked once after the first deploy (devstack does it
// when it starts the service); any payload.
func CatchUp(uc *app.CatchUp, logger *slog.Logger) service.JobHandler {
	return func(ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		res, err := uc.Handle(ctx)
		if err != nil {
			logger.ErrorContext(ctx, "catch-up", "err", err)
			return nil, err
		}
		logger.InfoContext(ctx, "catch-up", "replay", res.ReplayName, "state", res.State, "started", res.Started)
		return json.Marshal(res)
	}
}

func problem(req events.APIGatewayV2HTTPRequest, status int, detail string) events.APIGatewayV2HTTPResponse {
	return httpapi.ProblemResponse(httpapi.NewProblem(status, detail), req.RawPath)
}
