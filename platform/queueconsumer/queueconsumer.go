// Package queueconsumer runs a bus subscription's target behind an SQS queue: on AWS a
// rule delivers each event into the subscription's queue and a Lambda event source
// mapping (with ReportBatchItemFailures) hands the function batches of messages. The
// service keeps its subscription.Target (one EventBridge event at a time); this package
// turns it into the SQS batch handler, so a failed event is retried alone by the queue
// and, after the queue's maxReceiveCount, kept in its dead-letter queue. Nothing is
// dropped: a body that is not an EventBridge event is reported as failed too, so it
// reaches the dead-letter queue where it can be inspected.
package queueconsumer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/platform/tracing"
)

// Handler is a Lambda handler for an SQS event source mapping with
// FunctionResponseTypes ReportBatchItemFailures: the IDs it returns are the messages
// that stay in the queue (visible again after the visibility timeout); every other
// message of the batch is deleted by the mapping.
type Handler func(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error)

// MaxConcurrent bounds the messages of one batch whose targets run at once.
const MaxConcurrent = 10

// New returns the handler running target on each message of a batch. The messages
// run concurrently (up to MaxConcurrent at once): a standard queue promises no order
// and concurrent invocations get one concert's events anyway, so targets are
// order-tolerant already; running them at once lets their store writes share group
// commits and lets a target merge the work of one batch (projections' per-concert
// lanes, the fan-out's per-connection ones). Each message keeps its own context (its
// trace) and its own outcome. logger (nil: slog.Default()) records why each message
// failed.
func New(target subscription.Target, logger *slog.Logger) Handler {
	return NewReporting(target, logger, nil)
}

// NewReporting is New that also tells onFailure (when not nil) why each failed message
// failed: the SQS answer carries only message IDs, and an emulator that keeps a dead
// letter's last error (devstack) learns it here.
func NewReporting(target subscription.Target, logger *slog.Logger, onFailure func(messageID string, err error)) Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return func(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		errs := make([]error, len(batch.Records))
		var wg sync.WaitGroup
		sem := make(chan struct{}, MaxConcurrent)
		for i, msg := range batch.Records {
			sem <- struct{}{}
			if i == len(batch.Records)-1 {
				// The last runs on this goroutine: a batch of one starts none (a new
				// goroutine grows its stack through the target's calls every time).
				errs[i] = handle(ctx, target, msg)
				<-sem
				break
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				errs[i] = handle(ctx, target, msg)
			}()
		}
		wg.Wait()
		// Reported in the batch's order.
		for i, msg := range batch.Records {
			if err := errs[i]; err != nil {
				logger.ErrorContext(ctx, "queue message failed; it stays in the queue", "messageId", msg.MessageId,
					"receiveCount", msg.Attributes["ApproximateReceiveCount"], "error", err)
				if onFailure != nil {
					onFailure(msg.MessageId, err)
				}
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
			}
		}
		// Never an error: with ReportBatchItemFailures an error would fail the whole
		// batch, retrying the messages that succeeded as well.
		return resp, nil
	}
}

func handle(ctx context.Context, target subscription.Target, msg events.SQSMessage) error {
	// Past the deadline the target could not finish: report the rest failed at once so
	// the mapping deletes what succeeded before Lambda stops the invocation.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("not run: %w", err)
	}
	event, err := Decode(msg.Body)
	if err != nil {
		return err
	}
	// EventBridge hands its SQS target the delivery's trace in AWSTraceHeader; the
	// target's span continues it when it is the event's own trace (TracedTarget).
	if err := target(tracing.ExtractSQS(ctx, msg.Attributes), event); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	return nil
}

// ErrNotAnEvent is returned by Decode for a body that is not an EventBridge event.
var ErrNotAnEvent = errors.New("message body is not an EventBridge event")

// Decode reads a message body as the EventBridge event a rule's SQS target sends (the
// whole event, no input transformer): it needs an id, a source, a detail-type and a
// JSON object as detail.
func Decode(body string) (events.EventBridgeEvent, error) {
	var e events.EventBridgeEvent
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return e, fmt.Errorf("%w: %w", ErrNotAnEvent, err)
	}
	// The body parsed, so detail is valid JSON: its first byte says whether it is
	// an object (decoding it again only to look cost a tenth of a consumer's CPU).
	switch {
	case e.ID == "" || e.Source == "" || e.DetailType == "":
		return e, fmt.Errorf("%w: id, source and detail-type are required", ErrNotAnEvent)
	case !bytes.HasPrefix(bytes.TrimLeft(e.Detail, " \t\r\n"), []byte("{")):
		return e, fmt.Errorf("%w: detail must be a JSON object", ErrNotAnEvent)
	}
	return e, nil
}

// ForLambda is handler as a service's Lambda main starts it: a subscription target
// reads its subscription's queue (New), since on AWS a consumer is never invoked by
// the rule directly; any other handler is returned unchanged.
func ForLambda(handler any, logger *slog.Logger) any {
	if target, ok := handler.(subscription.Target); ok {
		return New(target, logger)
	}
	return handler
}
