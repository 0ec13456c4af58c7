package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/eventlog"
)

// NewEnricher returns the EventBridge Pipe enrichment handler for the event log's
// DynamoDB stream: one bus detail per INSERT record, in order. A record that is not an
// event item fails the batch (the Pipe retries, then dead-letters it) rather than
// being dropped silently.
func NewEnricher(logger *slog.Logger) func(ctx context.Context, records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
	if logger == nil {
		logger = slog.Default()
	}
	return func(ctx context.Context, records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
		out, err := Enrich(records)
		if err != nil {
			logger.ErrorContext(ctx, "enrich stream records", "records", len(records), "error", err)
		}
		return out, err
	}
}

// Enrich turns stream records into bus details (envelope.Detail), skipping records
// other than INSERT (the log is append-only, so nothing else should arrive).
func Enrich(records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(records))
	for i, r := range records {
		if r.EventName != string(events.DynamoDBOperationTypeInsert) {
			continue
		}
		e, err := EventFromImage(r.Change.NewImage)
		if err != nil {
			return nil, fmt.Errorf("record %d (%s): %w", i, r.EventID, err)
		}
		detail, err := json.Marshal(envelope.Detail{
			Metadata: envelope.Metadata{
				EventID: e.EventID, AggregateID: e.AggregateID, AggregateVersion: e.Version,
				EventType: e.EventType, SchemaVersion: e.SchemaVersion, OccurredAt: e.OccurredAt,
				CorrelationID: e.CorrelationID, CausationID: e.CausationID,
			},
			Data: e.Data,
		})
		if err != nil {
			return nil, fmt.Errorf("record %d (%s): encode detail: %w", i, r.EventID, err)
		}
		out = append(out, detail)
	}
	return out, nil
}

// ErrBadImage reports a stream image that is not an event log item.
var ErrBadImage = errors.New("stream image is not an event record")

// EventFromImage decodes a DynamoDB stream NewImage written by the event log's DynamoDB
// adapter with the event log's record codec (eventlog.FromStreamImage, which never
// panics on attributes of the wrong type).
func EventFromImage(img map[string]events.DynamoDBAttributeValue) (eventlog.Event, error) {
	e, err := eventlog.FromStreamImage(img)
	if err != nil {
		return eventlog.Event{}, fmt.Errorf("%w: %w", ErrBadImage, err)
	}
	return e, nil
}
