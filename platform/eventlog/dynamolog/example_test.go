package dynamolog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/eventlog/dynamolog"
	"github.com/concertsys/platform/testkit/dynamotest"
)

// Append to and load from a DynamoDB table (here minidyn's server in-process).
func ExampleLog() {
	b, stop := dynamotest.StartMinidyn()
	defer stop()
	ctx := context.Background()
	if err := dynamolog.CreateTable(ctx, b.Client, "events"); err != nil {
		fmt.Println(err)
		return
	}
	l := dynamolog.New(b.Client, "events")
	at := time.Date(2026, 5, 1, 18, 0, 0, 250_000_000, time.UTC)
	first := eventlog.Event{AggregateID: "c-1", Version: 1, EventType: "ConcertScheduled", SchemaVersion: 1,
		OccurredAt: at, Data: json.RawMessage(`{"artist":"The Midnight Owls"}`)}
	fmt.Println(l.Append(ctx, []eventlog.Event{first}))

	err := l.Append(ctx, []eventlog.Event{first})
	var conflict *eventlog.ConflictError
	fmt.Println(errors.As(err, &conflict), conflict.Version)

	events, err := l.Load(ctx, "c-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(events), events[0].EventType, eventlog.EpochSeconds(events[0].OccurredAt), string(events[0].Data))
	// Output:
	// <nil>
	// true 1
	// 1 ConcertScheduled 1777658400.250 {"artist":"The Midnight Owls"}
}
