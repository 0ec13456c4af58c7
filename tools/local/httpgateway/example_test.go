package httpgateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/local/httpgateway"
)

func Example() {
	getConcert := func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusOK,
			Headers:    map[string]string{"Content-Type": "application/json"},
			Body:       fmt.Sprintf(`{"id":%q,"route":%q}`, req.PathParameters["id"], req.RouteKey),
		}, nil
	}
	gw, err := httpgateway.New([]service.HTTPRoute{
		{Function: "get-concert", RouteKey: "GET /concerts/{id}", Handler: getConcert},
	}, httpgateway.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	for _, path := range []string{"/concerts/42", "/nope"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 {"id":"42","route":"GET /concerts/{id}"}
	// 404 {"message":"Not Found"}
}
