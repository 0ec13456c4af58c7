package service_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/service"
)

func TestHandlerFindsEveryKindOfFunction(t *testing.T) {
	httpH := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, nil
	}
	wsH := func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{}, nil
	}
	consumerH := func(context.Context, events.EventBridgeEvent) error { return nil }
	enrichH := func(context.Context, []events.DynamoDBEventRecord) ([]json.RawMessage, error) { return nil, nil }
	jobH := func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil }
	svc := service.Service{
		Name:            "svc",
		HTTPRoutes:      []service.HTTPRoute{{Function: "http", RouteKey: "GET /", Handler: httpH}, {Function: "described", RouteKey: "GET /x"}},
		WebSocketRoutes: []service.WebSocketRoute{{Function: "ws", RouteKey: "$connect", Handler: wsH}},
		Consumers:       []service.Consumer{{Function: "consumer", Handler: consumerH}},
		Enrichers:       []service.Enricher{{Function: "enricher", Handler: enrichH}},
		Jobs:            []service.Job{{Function: "job", Handler: jobH}},
	}
	require.Equal(t, []string{"http", "described", "ws", "consumer", "enricher", "job"}, svc.Functions())
	tests := []struct {
		function string
		wantErr  string
	}{
		{function: "http"}, {function: "ws"}, {function: "consumer"}, {function: "enricher"}, {function: "job"},
		{function: "missing", wantErr: `no function "missing"`},
		{function: "described", wantErr: "has no handler"},
	}
	for _, tc := range tests {
		t.Run(tc.function, func(t *testing.T) {
			h, err := svc.Handler(tc.function)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, h, "got nil handler for %s", tc.function)
		})
	}
}
