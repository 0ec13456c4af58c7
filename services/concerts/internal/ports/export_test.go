package ports

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// WrapRun exposes the idempotency decorator to the external tests: run stands for the
// decoded write and gets the concert id the claim holds; route and id are the write's.
func (i *Idempotency) WrapRun(route, id string, run func(ctx context.Context, id string) (events.APIGatewayV2HTTPResponse, error)) Handler {
	next := i.Wrap(func(ctx context.Context, _ events.APIGatewayV2HTTPRequest, w write) (events.APIGatewayV2HTTPResponse, error) {
		return run(ctx, w.id)
	})
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return next(ctx, req, write{route: route, id: id})
	}
}

// Fingerprint exposes the request fingerprint to the external tests.
var Fingerprint = fingerprint
