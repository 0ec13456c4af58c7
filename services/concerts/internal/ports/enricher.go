package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/tracing"
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
		out, err := enrich(ctx, records)
		if err != nil {
			logger.ErrorContext(ctx, "enrich stream records", "records", len(records), "error", err)
		}
		return out, err
	}
}

// Enrich turns stream records into bus details (envelope.Detail), skipping records
// other than INSERT (the log is append-only, so nothing else should arrive).
func Enrich(records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
	return enrich(context.Background(), records)
}

// SpanEnrich names the span of one record's enrichment.
const SpanEnrich = "concerts/enrich-events"

// enrich is Enrich with the trace hop: each record's enrichment is a span continuing
// the trace its append stored (TraceParent), and the detail carries that span's
// traceparent on to the bus (metadata.traceparent).
func enrich(ctx context.Context, records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(records))
	for i, r := range records {
		if r.EventName != string(events.DynamoDBOperationTypeInsert) {
			continue
		}
		e, err := EventFromImage(r.Change.NewImage)
		if err != nil {
			return nil, fmt.Errorf("record %d (%s): %w", i, r.EventID, err)
		}
		detail, err := enrichOne(ctx, r, e, len(records))
		if err != nil {
			return nil, fmt.Errorf("record %d (%s): encode detail: %w", i, r.EventID, err)
		}
		out = append(out, detail)
	}
	return out, nil
}

func enrichOne(ctx context.Context, r events.DynamoDBEventRecord, e eventlog.Event, batch int) (json.RawMessage, error) {
	ctx, span := tracing.StartRemote(ctx, e.TraceParent, SpanEnrich, trace.WithAttributes(
		tracing.AttrEventID.String(e.EventID), tracing.AttrAggregateID.String(e.AggregateID),
		tracing.AttrVersion.String(strconv.FormatInt(e.Version, 10)), tracing.AttrEventType.String(e.EventType),
		attribute.String("aws.dynamodb.stream.event_id", r.EventID), attribute.Int("concertsys.pipe.batch_records", batch)))
	defer span.End()
	detail, err := json.Marshal(envelope.Detail{
		Metadata: envelope.Metadata{
			EventID: e.EventID, AggregateID: e.AggregateID, AggregateVersion: e.Version,
			EventType: e.EventType, SchemaVersion: e.SchemaVersion, OccurredAt: e.OccurredAt,
			CorrelationID: e.CorrelationID, CausationID: e.CausationID,
			Traceparent: tracing.Traceparent(ctx),
		},
		Data: e.Data,
	})
	tracing.Fail(span, err)
	return detail, err
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
