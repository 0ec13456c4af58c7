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
	queueH := func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}
	svc := service.Service{
		Name:            "svc",
		HTTPRoutes:      []service.HTTPRoute{{Function: "http", RouteKey: "GET /", Handler: httpH}, {Function: "described", RouteKey: "GET /x"}},
		WebSocketRoutes: []service.WebSocketRoute{{Function: "ws", RouteKey: "$connect", Handler: wsH}},
		Consumers:       []service.Consumer{{Function: "consumer", Handler: consumerH}},
		QueueWorkers:    []service.QueueWorker{{Function: "worker", Queue: "work", Handler: queueH}},
		Enrichers:       []service.Enricher{{Function: "enricher", Handler: enrichH}},
		Jobs:            []service.Job{{Function: "job", Handler: jobH}},
	}
	require.Equal(t, []string{"http", "described", "ws", "consumer", "worker", "enricher", "job"}, svc.Functions())
	tests := []struct {
		function string
		wantErr  string
	}{
		{function: "http"}, {function: "ws"}, {function: "consumer"}, {function: "worker"}, {function: "enricher"}, {function: "job"},
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

func TestAttachBindsByFunctionName(t *testing.T) {
	desc := service.Service{
		Name:       "svc",
		HTTPRoutes: []service.HTTPRoute{{Function: "get", RouteKey: "GET /"}},
		Consumers:  []service.Consumer{{Function: "consume"}},
		Jobs:       []service.Job{{Function: "job"}},
	}
	httpH := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 204}, nil
	}
	consumerH := func(context.Context, events.EventBridgeEvent) error { return nil }
	jobH := service.JobHandler(func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil })
	tests := []struct {
		name     string
		handlers service.Handlers
		wantErr  []string
	}{
		{name: "every function bound", handlers: service.Handlers{"get": httpH, "consume": consumerH, "job": jobH}},
		{name: "missing handler", handlers: service.Handlers{"get": httpH, "consume": consumerH},
			wantErr: []string{`function "job" has no handler`}},
		{name: "unknown function", handlers: service.Handlers{"get": httpH, "consume": consumerH, "job": jobH, "extra": jobH},
			wantErr: []string{`handler for "extra"`}},
		{name: "wrong signature", handlers: service.Handlers{"get": consumerH, "consume": consumerH, "job": jobH},
			wantErr: []string{`function "get": handler is a`}},
		{name: "nil handler", handlers: service.Handlers{"get": httpH, "consume": (func(context.Context, events.EventBridgeEvent) error)(nil), "job": jobH},
			wantErr: []string{`function "consume": nil handler`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := desc.Attach(tc.handlers)
			if len(tc.wantErr) > 0 {
				for _, want := range tc.wantErr {
					require.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			h, err := svc.Handler("get")
			require.NoError(t, err)
			resp, err := h.(service.HTTPHandler)(context.Background(), events.APIGatewayV2HTTPRequest{})
			require.NoError(t, err)
			require.Equal(t, 204, resp.StatusCode, "got status %d, want 204", resp.StatusCode)
			require.Nil(t, desc.HTTPRoutes[0].Handler, "got the description changed, want it untouched")
		})
	}
}
