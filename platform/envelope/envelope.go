// Package envelope is the shape of every event on the bus: the EventBridge `detail`
// is {"metadata":{...},"data":{...}}. Schemas in schemas/ describe exactly this.
package envelope

import (
	"encoding/json"
	"time"
)

// Metadata travels with every event, whatever its type.
type Metadata struct {
	EventID          string    `json:"eventId"`
	AggregateID      string    `json:"aggregateId"`
	AggregateVersion int64     `json:"aggregateVersion"`
	EventType        string    `json:"eventType"`
	SchemaVersion    int       `json:"schemaVersion"`
	OccurredAt       time.Time `json:"occurredAt"`
	CorrelationID    string    `json:"correlationId"`
	CausationID      string    `json:"causationId"`
	// Traceparent is the W3C trace context of the hop that produced the event, so
	// its consumers continue the trace of the command that caused it (optional).
	Traceparent string `json:"traceparent,omitempty"`
}

// Detail is the EventBridge detail of an event whose data is still raw JSON.
type Detail struct {
	Metadata Metadata        `json:"metadata"`
	Data     json.RawMessage `json:"data"`
}

// Typed is Detail with its data decoded, used by producers to generate schemas and by
// consumers to decode with their own types.
type Typed[T any] struct {
	Metadata Metadata `json:"metadata"`
	Data     T        `json:"data"`
}
