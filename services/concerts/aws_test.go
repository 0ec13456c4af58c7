package concerts_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog/dynamolog"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/testkit/dynamotest"

	"github.com/concertsys/services/concerts"
)

// TestOnDynamoDB runs the handlers on the AWS adapters (the event log and the
// idempotency store in DynamoDB) against real DynamoDB API implementations.
func TestOnDynamoDB(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		ctx := context.Background()
		require.NoError(t, dynamolog.CreateTable(ctx, b.Client, "events"))
		require.NoError(t, concerts.CreateIdempotencyTable(ctx, b.Client, "idempotency"))
		svc, err := concerts.New(ctx, concerts.Deps{
			Log:         dynamolog.New(b.Client, "events"),
			Idempotency: concerts.NewDynamoIdempotency(b.Client, "idempotency"),
		})
		require.NoError(t, err)
		routes := map[string]service.HTTPHandler{}
		for _, r := range svc.HTTPRoutes {
			routes[r.RouteKey] = r.Handler
		}
		call := func(route, id, body string, headers map[string]string) events.APIGatewayV2HTTPResponse {
			h := map[string]string{"content-type": "application/json"}
			for k, v := range headers {
				h[k] = v
			}
			resp, err := routes[route](ctx, events.APIGatewayV2HTTPRequest{RouteKey: route, Headers: h, Body: body,
				PathParameters: map[string]string{"id": id}})
			require.NoError(t, err)
			return resp
		}
		resp := call("POST /concerts", "", `{"artist":"A","venue":"V","startsAt":"2999-01-01T20:00:00Z","capacity":3,"priceCents":100}`, nil)
		require.Equal(t, 201, resp.StatusCode, resp.Body)
		id := resp.Headers["Location"][len("/concerts/"):]

		sell := call("POST /concerts/{id}/tickets", id, `{"quantity":3}`, map[string]string{"idempotency-key": "k1"})
		require.Equal(t, 200, sell.StatusCode, sell.Body)
		require.JSONEq(t, fmt.Sprintf(`{"id":%q,"version":3}`, id), sell.Body, "TicketsSold and ConcertSoldOut in one append")
		require.Equal(t, sell, call("POST /concerts/{id}/tickets", id, `{"quantity":3}`, map[string]string{"idempotency-key": "k1"}))
		require.Equal(t, 422, call("POST /concerts/{id}/tickets", id, `{"quantity":2}`, map[string]string{"idempotency-key": "k1"}).StatusCode)
		require.Equal(t, 409, call("POST /concerts/{id}/tickets", id, `{"quantity":1}`, nil).StatusCode)
		require.Equal(t, 412, call("POST /concerts/{id}/cancel", id, `{"reason":"x"}`, map[string]string{"if-match": `"2"`}).StatusCode)
		require.Equal(t, 404, call("POST /concerts/{id}/cancel", "missing", `{"reason":"x"}`, nil).StatusCode)

		resp = call("GET /concerts/{id}/events", id, "", nil)
		require.Equal(t, 200, resp.StatusCode)
		require.Contains(t, resp.Body, `"type":"ConcertSoldOut"`)
	})
}
