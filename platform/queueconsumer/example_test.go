package queueconsumer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/queueconsumer"
)

// A consumer keeps its one-event target; wiring starts it behind the queue with New.
// The failed message and the undecodable one are reported, the rest are deleted.
func ExampleNew() {
	target := func(ctx context.Context, e events.EventBridgeEvent) error {
		if e.ID == "e2" {
			return errors.New("not yet")
		}
		fmt.Println("handled", e.ID, e.DetailType)
		return nil
	}
	body := func(id string) string {
		return `{"id":"` + id + `","source":"concerts","detail-type":"TicketsSold","detail":{"data":{}}}`
	}
	handler := queueconsumer.New(target, slog.New(slog.DiscardHandler))
	resp, _ := handler(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: body("e1")},
		{MessageId: "m2", Body: body("e2")},
		{MessageId: "m3", Body: "not json"},
	}})
	for _, f := range resp.BatchItemFailures {
		fmt.Println("failed", f.ItemIdentifier)
	}
	// Output:
	// handled e1 TicketsSold
	// failed m2
	// failed m3
}
