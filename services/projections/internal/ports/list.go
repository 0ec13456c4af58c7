package ports

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/services/projections/internal/app"
)

// listParams are the query parameters GET /concerts accepts; others are a 400.
var listParams = []string{"status", "limit", "cursor"}

// ListConcerts serves GET /concerts?status=&limit=&cursor=.
func ListConcerts(q *app.ListConcerts, logger *slog.Logger) service.HTTPHandler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		// A parameter that is present must parse: "cursor=%%%%x" (dropped by the
		// gateway's parser) or "cursor=" are a 400, never the first page.
		p, err := httpapi.Query(req, listParams...)
		var problem *httpapi.Problem
		if errors.As(err, &problem) {
			return badRequest(req, problem.Detail), nil
		}
		page, err := q.Handle(ctx, app.ListParams{Status: p["status"], Limit: p["limit"], Cursor: p["cursor"]})
		var invalid *app.InvalidQueryError
		switch {
		case errors.As(err, &invalid):
			return badRequest(req, invalid.Detail), nil
		case err != nil:
			return serverError(ctx, logger, req, err), nil
		}
		return httpapi.JSON(http.StatusOK, page, map[string]string{"Cache-Control": "no-cache"}), nil
	}
}

func badRequest(req events.APIGatewayV2HTTPRequest, detail string) events.APIGatewayV2HTTPResponse {
	return httpapi.ProblemResponse(httpapi.NewProblem(http.StatusBadRequest, detail), req.RawPath)
}

// serverError hides the cause from the client and logs it.
func serverError(ctx context.Context, logger *slog.Logger, req events.APIGatewayV2HTTPRequest, err error) events.APIGatewayV2HTTPResponse {
	logger.ErrorContext(ctx, "query failed", "path", req.RawPath, "error", err)
	return httpapi.ProblemResponse(httpapi.NewProblem(http.StatusInternalServerError, "the read model is unavailable; retry later"), req.RawPath)
}
