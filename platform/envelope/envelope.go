// Package envelope is the shape of every event on the bus: the EventBridge `detail`
// is {"metadata":{...},"data":{...}}. Schemas in schemas/ describe exactly this.
package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// ErrNoMetadata is returned by ReadMetadata for a detail without a metadata object.
var ErrNoMetadata = errors.New("detail has no metadata object")

// ReadMetadata decodes only the metadata member of a detail. Producers write it
// first (Typed's field order), so the data, most of a detail's bytes, is neither
// scanned nor decoded; tracing and delivery bookkeeping read every event's metadata
// and nothing else. It does not validate the rest of the detail. A member of the
// wrong type, or an occurredAt that is not a time, fails it but leaves every other
// member decoded, so a trace still continues through a malformed event.
func ReadMetadata(detail []byte) (Metadata, error) {
	var m Metadata
	dec := json.NewDecoder(bytes.NewReader(detail))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return m, fmt.Errorf("%w: detail is not a JSON object", ErrNoMetadata)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return m, fmt.Errorf("read detail: %w", err)
		}
		if key, _ := t.(string); key == "metadata" {
			// occurredAt apart: a time that does not parse stops encoding/json there.
			var raw struct {
				Metadata
				OccurredAt json.RawMessage `json:"occurredAt"` // shadows Metadata's
			}
			err := dec.Decode(&raw)
			m = raw.Metadata
			if len(raw.OccurredAt) > 0 {
				if terr := json.Unmarshal(raw.OccurredAt, &m.OccurredAt); err == nil {
					err = terr
				}
			}
			if err != nil {
				return m, fmt.Errorf("read metadata: %w", err)
			}
			return m, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return m, fmt.Errorf("read detail: %w", err)
		}
	}
	return m, ErrNoMetadata
}
