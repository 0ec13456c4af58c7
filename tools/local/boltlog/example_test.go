package boltlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/tools/local/boltlog"
)

// Append events, then follow the change feed as devstack's pipe emulator does.
func ExampleLog() {
	dir, err := os.MkdirTemp("", "boltlog-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	l, err := boltlog.Open(filepath.Join(dir, "events.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)

	changed := l.Changed()
	err = l.Append(ctx, []eventlog.Event{
		{AggregateID: "c-1", Version: 1, EventType: "ConcertScheduled", SchemaVersion: 1, OccurredAt: at, Data: json.RawMessage(`{}`)},
		{AggregateID: "c-1", Version: 2, EventType: "TicketsSold", SchemaVersion: 1, OccurredAt: at, Data: json.RawMessage(`{}`)},
	})
	fmt.Println("append:", err)
	<-changed // closed by the commit

	entries, err := l.ReadFeed(ctx, 0, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range entries {
		fmt.Println(e.Position, e.Event.AggregateID, e.Event.Version, e.Event.EventType)
	}

	err = l.Append(ctx, []eventlog.Event{{AggregateID: "c-1", Version: 2, EventType: "TicketsSold", OccurredAt: at, Data: json.RawMessage(`{}`)}})
	fmt.Println(err)
	// Output:
	// append: <nil>
	// 1 c-1 1 ConcertScheduled
	// 2 c-1 2 TicketsSold
	// aggregate c-1: version 2 already exists
}
