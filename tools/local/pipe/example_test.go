package pipe_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/tools/local/pipe"
)

// A feed entry becomes the INSERT record a Pipe hands to its enrichment.
func ExampleStreamRecord() {
	arn := pipe.StreamARN("us-east-1", "000000000000", "concerts-events")
	rec := pipe.StreamRecord("us-east-1", arn, eventlog.FeedEntry{Position: 7, Event: eventlog.Event{
		AggregateID: "c1", Version: 2, EventID: "e2", EventType: "TicketsSold", SchemaVersion: 1,
		OccurredAt: time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC), Data: json.RawMessage(`{"quantity":2}`),
	}})
	img, _ := json.Marshal(rec.Change.NewImage)
	fmt.Println(rec.EventName, rec.Change.SequenceNumber, rec.Change.StreamViewType)
	fmt.Println(string(img))
	// Output:
	// INSERT 000000000000000000007 NEW_IMAGE
	// {"AggregateId":{"S":"c1"},"AggregateVersion":{"N":"2"},"Created":{"N":"1777658400.000"},"Data":{"S":"{\"quantity\":2}"},"EventId":{"S":"e2"},"EventType":{"S":"TicketsSold"},"SchemaVersion":{"N":"1"}}
}
