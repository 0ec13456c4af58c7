package eventlog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/concertsys/platform/eventlog"
)

// Adapters check a batch before any write; an event too large for DynamoDB is
// refused by every adapter alike.
func ExampleValidateBatch() {
	e := eventlog.Event{
		AggregateID: "c-1", Version: 1, EventType: "ConcertScheduled", SchemaVersion: 1,
		OccurredAt: time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC), Data: json.RawMessage(`{"artist":"Owls"}`),
	}
	fmt.Println(eventlog.ItemSize(e), eventlog.ValidateBatch([]eventlog.Event{e}))

	big := e
	big.Data = json.RawMessage(`"` + strings.Repeat("x", eventlog.MaxItemBytes) + `"`)
	fmt.Println(errors.Is(eventlog.ValidateBatch([]eventlog.Event{big}), eventlog.ErrTooLarge))

	next := e
	next.Version = 3 // a gap after version 1
	fmt.Println(errors.Is(eventlog.ValidateBatch([]eventlog.Event{e, next}), eventlog.ErrInvalid))
	// Output:
	// 105 <nil>
	// true
	// true
}
