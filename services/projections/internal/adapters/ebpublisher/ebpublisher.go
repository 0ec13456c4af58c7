// Package ebpublisher puts ConcertViewUpdated events on an EventBridge bus with the
// AWS SDK's PutEvents: at most 10 entries a call, and only the entries EventBridge
// reports as failed are retried.
package ebpublisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/concertsys/platform/backoff"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/viewevents"
)

var _ app.Publisher = (*Publisher)(nil)

// MaxEntries is PutEvents' limit of entries per call.
const MaxEntries = 10

// maxAttempts bounds the retries of failed entries within one publish (waiting up to
// 50ms, 100ms, 200ms between them); after that the error goes back to the caller,
// whose record still says the publish is owed.
const maxAttempts = 4

// PutEventsAPI is the part of the EventBridge client the publisher uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher publishes to one bus.
type Publisher struct {
	client  PutEventsAPI
	busName string
	retry   backoff.Policy
}

// New publishes to the bus named busName (EVENT_BUS_NAME).
func New(client PutEventsAPI, busName string) *Publisher {
	return &Publisher{client: client, busName: busName, retry: backoff.Policy{Base: 50 * time.Millisecond, Jitter: backoff.Equal}}
}

// PublishConcertViewUpdated puts one event per detail.
func (p *Publisher) PublishConcertViewUpdated(ctx context.Context, details []app.ConcertViewUpdated) error {
	entries := make([]types.PutEventsRequestEntry, 0, len(details))
	for _, d := range details {
		body, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode %s %s v%d: %w", viewevents.ConcertViewUpdated, d.Metadata.AggregateID, d.Metadata.AggregateVersion, err)
		}
		entries = append(entries, types.PutEventsRequestEntry{
			EventBusName: aws.String(p.busName),
			Source:       aws.String(viewevents.Source),
			DetailType:   aws.String(viewevents.ConcertViewUpdated),
			Detail:       aws.String(string(body)),
			Time:         aws.Time(d.Metadata.OccurredAt),
		})
	}
	for start := 0; start < len(entries); start += MaxEntries {
		end := min(start+MaxEntries, len(entries))
		if err := p.put(ctx, entries[start:end]); err != nil {
			return err
		}
	}
	return nil
}

// put sends one batch, resending only the entries that failed. PutEvents answers 200
// with FailedEntryCount and one result per entry, in request order, an entry that
// failed carrying an ErrorCode; an answer whose results cannot be matched to the
// entries resends the whole (rest of the) batch: a duplicate is allowed, a loss is not.
func (p *Publisher) put(ctx context.Context, batch []types.PutEventsRequestEntry) error {
	pending := batch
	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 {
			if err := backoff.Sleep(ctx, p.retry.Delay(attempt-1)); err != nil {
				return fmt.Errorf("put events: %w (last failure: %v)", err, lastErr)
			}
		}
		out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: pending})
		if err != nil {
			// The SDK already retried transport and throttling errors.
			return fmt.Errorf("put events on %s: %w", p.busName, err)
		}
		var failed []types.PutEventsRequestEntry
		failed, lastErr = failedEntries(pending, out)
		if len(failed) == 0 {
			return nil
		}
		pending = failed
	}
	return fmt.Errorf("put events on %s: %d of %d entries still failing after %d attempts: %w",
		p.busName, len(pending), len(batch), maxAttempts, lastErr)
}

// failedEntries is the entries of sent that out does not report as put, and why.
func failedEntries(sent []types.PutEventsRequestEntry, out *eventbridge.PutEventsOutput) ([]types.PutEventsRequestEntry, error) {
	var failed []types.PutEventsRequestEntry
	var errs []error
	for i, r := range out.Entries {
		if r.ErrorCode != nil && i < len(sent) {
			failed = append(failed, sent[i])
			errs = append(errs, fmt.Errorf("%s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)))
		}
	}
	switch {
	case out.FailedEntryCount == 0 && len(failed) == 0:
		return nil, nil
	case len(out.Entries) != len(sent):
		// Results that cannot be matched to the entries: resend all.
		return sent, fmt.Errorf("%d results for %d entries, %d failed: answer unusable, resending all: %w",
			len(out.Entries), len(sent), out.FailedEntryCount, errors.Join(errs...))
	case len(failed) == 0:
		// Counted failures but none marked: the response is unusable, resend all.
		return sent, fmt.Errorf("%d entries failed, none marked: answer unusable, resending all", out.FailedEntryCount)
	}
	return failed, errors.Join(errs...)
}
