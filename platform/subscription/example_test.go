package subscription_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/subscription"
)

// A subscribing service declares its rule once; devstack routes with it and the
// service's CDK stack deploys it. The target is the Lambda handler behind the rule.
func ExampleSubscription() {
	sub := subscription.Subscription{
		Name:    "billing-tickets-sold",
		Pattern: json.RawMessage(`{"source":["concerts"],"detail-type":["TicketsSold"]}`),
	}
	var target subscription.Target = func(ctx context.Context, e events.EventBridgeEvent) error {
		fmt.Println("charging for", e.DetailType)
		return nil
	}
	_ = target(context.Background(), events.EventBridgeEvent{DetailType: "TicketsSold"})
	fmt.Println(sub.Name, sub.MaxAttempts == 0, subscription.DefaultMaxAttempts)
	// Output:
	// charging for TicketsSold
	// billing-tickets-sold true 8
}
