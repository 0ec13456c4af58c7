package service_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/service"
)

// A service describes its functions once; mains, devstack and CDK read the same value.
func ExampleService() {
	svc := service.Service{
		Name: "hello",
		HTTPRoutes: []service.HTTPRoute{{
			Function: "say-hello",
			RouteKey: "GET /hello",
			Access:   service.Public,
			Handler: func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello"}, nil
			},
		}},
	}
	for _, r := range svc.HTTPRoutes {
		resp, _ := r.Handler(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: r.RouteKey})
		fmt.Println(svc.Name, r.Function, r.RouteKey, resp.StatusCode, resp.Body)
	}
	// Output: hello say-hello GET /hello 200 hello
}
