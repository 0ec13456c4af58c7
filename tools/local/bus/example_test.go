package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/bus"
)

func Example() {
	ctx := context.Background()
	b, err := bus.New(bus.Options{Name: "concerts", DataDir: ""}) // "" keeps it in memory
	if err != nil {
		panic(err)
	}
	got := make(chan events.EventBridgeEvent, 1)
	err = b.Subscribe(subscription.Subscription{
		Name:    "sold-out-alerts",
		Pattern: json.RawMessage(`{"source":["concerts"],"detail-type":["ConcertSoldOut"]}`),
	}, func(_ context.Context, ev events.EventBridgeEvent) error {
		got <- ev
		return nil
	})
	if err != nil {
		panic(err)
	}
	res, err := b.Put(ctx, []bus.Entry{
		{Source: "concerts", DetailType: "ConcertSoldOut", Detail: json.RawMessage(`{"data":{"concertId":"c-1"}}`)},
		{Source: "concerts", DetailType: "ConcertSoldOut", Detail: json.RawMessage(`["not an object"]`)},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("second entry:", res[1].ErrorCode)

	ev := <-got
	fmt.Println(ev.Source, ev.DetailType, string(ev.Detail), ev.ID == res[0].EventID)
	if err := b.Close(ctx); err != nil {
		panic(err)
	}
	// Output:
	// second entry: MalformedDetail
	// concerts ConcertSoldOut {"data":{"concertId":"c-1"}} true
}

func ExampleBus_DeadLetters() {
	ctx := context.Background()
	b, _ := bus.New(bus.Options{})
	defer b.Close(ctx)
	fixed := make(chan struct{})
	delivered := make(chan string, 1)
	_ = b.Subscribe(subscription.Subscription{
		Name:        "fragile",
		Pattern:     json.RawMessage(`{"source":["shop"]}`),
		MaxAttempts: 1,
	}, func(_ context.Context, ev events.EventBridgeEvent) error {
		select {
		case <-fixed:
			delivered <- ev.DetailType
			return nil
		default:
			return fmt.Errorf("database unavailable")
		}
	})
	_, _ = b.Put(ctx, []bus.Entry{{Source: "shop", DetailType: "OrderPlaced", Detail: json.RawMessage(`{}`)}})

	var dls []bus.DeadLetter
	for len(dls) == 0 { // delivery is asynchronous
		time.Sleep(time.Millisecond)
		dls, _ = b.DeadLetters(ctx)
	}
	fmt.Println(dls[0].Rule, dls[0].Reason, dls[0].Attempts, dls[0].LastError)

	close(fixed)
	n, _ := b.Redrive(ctx, dls[0].ID)
	fmt.Println("redriven:", n, "delivered:", <-delivered)
	// Output:
	// fragile MaxAttemptsExceeded 1 database unavailable
	// redriven: 1 delivered: OrderPlaced
}
