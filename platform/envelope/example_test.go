package envelope_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/concertsys/platform/envelope"
)

// A consumer decodes a bus detail with its own data type.
func ExampleTyped() {
	detail := []byte(`{"metadata":{"eventId":"e1","aggregateId":"c1","aggregateVersion":4,
		"eventType":"TicketsSold","schemaVersion":1,"occurredAt":"2026-05-01T18:04:00Z",
		"correlationId":"r1","causationId":"r1"},"data":{"quantity":2}}`)
	var ev envelope.Typed[struct {
		Quantity int `json:"quantity"`
	}]
	if err := json.Unmarshal(detail, &ev); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Metadata.EventType, ev.Metadata.AggregateVersion, ev.Data.Quantity, ev.Metadata.OccurredAt.Format(time.Kitchen))
	// Output: TicketsSold 4 2 6:04PM
}

// Tracing reads an event's metadata without decoding its data.
func ExampleReadMetadata() {
	detail := []byte(`{"metadata":{"eventId":"e1","aggregateId":"c1","aggregateVersion":4,"eventType":"TicketsSold",
		"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},"data":{"quantity":2}}`)
	m, err := envelope.ReadMetadata(detail)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.EventID, m.AggregateVersion, m.Traceparent)
	// Output: e1 4 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
}
