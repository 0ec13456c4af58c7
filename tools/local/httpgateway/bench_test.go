package httpgateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/local/httpgateway"
	"github.com/concertsys/tools/local/internal/cputime"
	"github.com/concertsys/tools/local/localauth"
)

// BenchmarkRequest measures one HTTP round trip through the gateway (routing, event
// JSON, aws-lambda-go invoke, response mapping), over loopback; cpu-ns/op is what it
// costs client and server together.
func BenchmarkRequest(b *testing.B) {
	ok := func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: req.Body}, nil
	}
	iss, err := localauth.New()
	if err != nil {
		b.Fatal(err)
	}
	token, err := iss.Token("bench", []string{localauth.OrganizersGroup}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	gw, err := httpgateway.New([]service.HTTPRoute{
		{Function: "get", RouteKey: "GET /concerts/{id}", Handler: ok},
		{Function: "post", RouteKey: "POST /concerts/{id}/tickets", Access: service.Organizers, Handler: ok},
	}, httpgateway.Options{Authorizer: iss.Verifier()})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	client := srv.Client()

	run := func(b *testing.B, newReq func() *http.Request) {
		b.ReportAllocs()
		cpu := cputime.Start()
		defer func() { cpu.ReportPerOp(b, b.N) }()
		for b.Loop() {
			resp, err := client.Do(newReq())
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("got status %d want 200", resp.StatusCode)
			}
		}
	}
	b.Run("public GET", func(b *testing.B) {
		run(b, func() *http.Request {
			req, _ := http.NewRequest("GET", srv.URL+"/concerts/c-1", nil)
			return req
		})
	})
	b.Run("authorized POST", func(b *testing.B) {
		run(b, func() *http.Request {
			req, _ := http.NewRequest("POST", srv.URL+"/concerts/c-1/tickets", strings.NewReader(`{"quantity":2}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			return req
		})
	})
}
