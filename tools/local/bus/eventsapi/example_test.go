package eventsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
)

// A service publishes with the real SDK client; devstack serves the bus under
// /_aws/events.
func ExampleNewHandler() {
	ctx := context.Background()
	b, err := bus.New(bus.Options{Name: "concerts"})
	if err != nil {
		panic(err)
	}
	defer b.Close(ctx)
	delivered := make(chan events.EventBridgeEvent, 1)
	_ = b.Subscribe(subscription.Subscription{Name: "projector", Pattern: json.RawMessage(`{"source":["concerts"]}`)},
		func(_ context.Context, ev events.EventBridgeEvent) error { delivered <- ev; return nil })

	mux := http.NewServeMux()
	h := eventsapi.NewHandler(b)
	mux.Handle("/_aws/events", h)
	mux.Handle("/_aws/events/", h) // tail and dead-letter endpoints
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client := eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL + "/_aws/events"),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	out, err := client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("concerts"), DetailType: aws.String("ConcertScheduled"), Detail: aws.String(`{"data":{"artist":"Nina"}}`)},
		{Source: aws.String("concerts"), DetailType: aws.String("ConcertScheduled")},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println("failed entries:", out.FailedEntryCount, aws.ToString(out.Entries[1].ErrorCode))
	ev := <-delivered
	fmt.Println("delivered:", ev.DetailType, string(ev.Detail))

	match, err := client.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{
		EventPattern: aws.String(`{"detail":{"data":{"artist":[{"prefix":"Ni"}]}}}`),
		Event: aws.String(`{"id":"1","account":"000000000000","source":"concerts","time":"2026-01-01T00:00:00Z",` +
			`"region":"us-east-1","resources":[],"detail-type":"ConcertScheduled","detail":{"data":{"artist":"Nina"}}}`),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("pattern matches:", match.Result)
	// Output:
	// failed entries: 1 InvalidArgument
	// delivered: ConcertScheduled {"data":{"artist":"Nina"}}
	// pattern matches: true
}
