package ports

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/tracing"

	"github.com/concertsys/services/notifications/internal/app"
	"github.com/concertsys/services/notifications/internal/domain"
)

// FanOut is the bus target of ConcertViewUpdated.
type FanOut struct {
	fanOut *app.FanOut
	logger *slog.Logger
}

// NewFanOut is the bus target running fanOut.
func NewFanOut(fanOut *app.FanOut, logger *slog.Logger) *FanOut {
	return &FanOut{fanOut: fanOut, logger: logger}
}

// Handle decodes the event and fans it out. An error makes the bus deliver the event
// again (and finally dead-letter it): a malformed detail thus ends up where an
// operator sees it, and a partial fan-out is completed by the retry.
func (f *FanOut) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	if ev.Source != domain.ViewEventsSource || ev.DetailType != domain.EventTypeConcertViewUpdated {
		// The rule only matches ConcertViewUpdated; retrying anything else cannot help.
		f.logger.WarnContext(ctx, "ignoring unexpected event", "source", ev.Source, "detailType", ev.DetailType, "id", ev.ID)
		return nil
	}
	u, err := domain.DecodeConcertViewUpdated(ev.Detail)
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	// The target runs in the span continuing the event's traceparent (service.Attach),
	// so ctx's trace is the trace of the change.
	u.TraceID = tracing.TraceID(ctx)
	if _, err := f.fanOut.Handle(ctx, u); err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	return nil
}

// HandleBatches is the fan-out queue's handler (an event source mapping with
// ReportBatchItemFailures): each message is one batch of connections; a batch with a
// connection to retry is reported, so only that batch is received again. A message
// that is not a batch is reported too, so it reaches the dead-letter queue.
func (f *FanOut) HandleBatches(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, msg := range batch.Records {
		b, err := domain.DecodeFanOutBatch([]byte(msg.Body))
		if err == nil {
			_, err = f.fanOut.PostBatch(ctx, b)
		}
		if err != nil {
			f.logger.WarnContext(ctx, "fan-out batch failed; it will be received again", "messageId", msg.MessageId,
				"receiveCount", msg.Attributes["ApproximateReceiveCount"], "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}
	return resp, nil
}
