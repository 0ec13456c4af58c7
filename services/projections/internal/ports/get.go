package ports

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/services/projections/internal/app"
)

// GetConcert serves GET /concerts/{id} with ETag "<version>" and If-None-Match.
func GetConcert(q *app.GetConcert, logger *slog.Logger) service.HTTPHandler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		// The route takes no parameters; a query string that does not parse, or any
		// parameter, is a 400 rather than silently ignored.
		if _, err := httpapi.Query(req); err != nil {
			var problem *httpapi.Problem
			if errors.As(err, &problem) {
				return badRequest(req, problem.Detail), nil
			}
		}
		id := req.PathParameters["id"]
		view, err := q.Handle(ctx, id)
		switch {
		case errors.Is(err, app.ErrNotFound):
			return httpapi.ProblemResponse(httpapi.NewProblem(http.StatusNotFound, "no concert with this id"), req.RawPath), nil
		case err != nil:
			return serverError(ctx, logger, req, err), nil
		}
		etag := `"` + strconv.FormatInt(view.Version, 10) + `"`
		headers := map[string]string{"ETag": etag, "Cache-Control": "no-cache"}
		if matches(httpapi.Header(req, "If-None-Match"), etag) {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotModified, Headers: headers}, nil
		}
		return httpapi.JSON(http.StatusOK, view, headers), nil
	}
}

// matches applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func matches(ifNoneMatch, etag string) bool {
	for _, tag := range strings.Split(ifNoneMatch, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}
