package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

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
// adapter (attribute names of eventlog.Attr*). It checks every attribute's type first:
// the aws-lambda-go accessors panic on a type mismatch.
func EventFromImage(img map[string]events.DynamoDBAttributeValue) (eventlog.Event, error) {
	var errs []error
	str := func(name string, required bool) string {
		v, ok := img[name]
		if !ok {
			if required {
				errs = append(errs, fmt.Errorf("%s missing", name))
			}
			return ""
		}
		if v.DataType() != events.DataTypeString {
			errs = append(errs, fmt.Errorf("%s is not a string", name))
			return ""
		}
		return v.String()
	}
	num := func(name string) string {
		v, ok := img[name]
		if !ok || v.DataType() != events.DataTypeNumber {
			errs = append(errs, fmt.Errorf("%s missing or not a number", name))
			return "0"
		}
		return v.Number()
	}
	e := eventlog.Event{
		AggregateID:   str(eventlog.AttrAggregateID, true),
		EventType:     str(eventlog.AttrEventType, true),
		Data:          json.RawMessage(str(eventlog.AttrData, true)),
		EventID:       str(eventlog.AttrEventID, false),
		CorrelationID: str(eventlog.AttrCorrelationID, false),
		CausationID:   str(eventlog.AttrCausationID, false),
	}
	var err error
	if e.Version, err = strconv.ParseInt(num(eventlog.AttrVersion), 10, 64); err != nil || e.Version < 1 {
		errs = append(errs, fmt.Errorf("%s must be a positive integer", eventlog.AttrVersion))
	}
	if e.SchemaVersion, err = strconv.Atoi(num(eventlog.AttrSchemaVersion)); err != nil {
		errs = append(errs, fmt.Errorf("%s must be an integer", eventlog.AttrSchemaVersion))
	}
	if e.OccurredAt, err = eventlog.ParseEpochSeconds(num(eventlog.AttrCreated)); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 && !json.Valid(e.Data) {
		errs = append(errs, fmt.Errorf("%s is not JSON", eventlog.AttrData))
	}
	if len(errs) > 0 {
		return eventlog.Event{}, fmt.Errorf("%w: %w", ErrBadImage, errors.Join(errs...))
	}
	return e, nil
}
