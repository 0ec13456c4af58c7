package notifications_test

import (
	"fmt"

	"github.com/concertsys/services/notifications"
)

// The functions and triggers the CDK stack deploys.
func ExampleDescribe() {
	svc := notifications.Describe()
	for _, r := range svc.WebSocketRoutes {
		fmt.Println(r.RouteKey, "->", r.Function)
	}
	for _, c := range svc.Consumers {
		fmt.Println(c.Subscription.Name, string(c.Subscription.Pattern), "->", c.Function)
	}
	// Output:
	// $connect -> ws-connect
	// $disconnect -> ws-disconnect
	// subscribe -> ws-subscribe
	// unsubscribe -> ws-unsubscribe
	// $default -> ws-default
	// notifications-view-updates {"detail-type":["ConcertViewUpdated"],"source":["projections"]} -> fan-out
}
