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

	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/viewevents"
)

var _ app.Publisher = (*Publisher)(nil)

// MaxEntries is PutEvents' limit of entries per call.
const MaxEntries = 10

// maxAttempts bounds the retries of failed entries within one publish; after that
// the error goes back to the caller, whose record still says the publish is owed.
const maxAttempts = 4

// PutEventsAPI is the part of the EventBridge client the publisher uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher publishes to one bus.
type Publisher struct {
	client  PutEventsAPI
	busName string
	backoff time.Duration
}

// New publishes to the bus named busName (EVENT_BUS_NAME).
func New(client PutEventsAPI, busName string) *Publisher {
	return &Publisher{client: client, busName: busName, backoff: 50 * time.Millisecond}
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

// put sends one batch, resending only the entries that failed.
func (p *Publisher) put(ctx context.Context, batch []types.PutEventsRequestEntry) error {
	pending := batch
	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("put events: %w (last failure: %v)", ctx.Err(), lastErr)
			case <-time.After(p.backoff << (attempt - 2)):
			}
		}
		out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: pending})
		if err != nil {
			// The SDK already retried transport and throttling errors.
			return fmt.Errorf("put events on %s: %w", p.busName, err)
		}
		if out.FailedEntryCount == 0 {
			return nil
		}
		var failed []types.PutEventsRequestEntry
		var errs []error
		for i, r := range out.Entries {
			if r.ErrorCode != nil && i < len(pending) {
				failed = append(failed, pending[i])
				errs = append(errs, fmt.Errorf("%s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)))
			}
		}
		if len(failed) == 0 {
			// Counted failures but none marked: the response is unusable, resend all.
			failed = pending
		}
		lastErr = errors.Join(errs...)
		pending = failed
	}
	return fmt.Errorf("put events on %s: %d of %d entries still failing after %d attempts: %w",
		p.busName, len(pending), len(batch), maxAttempts, lastErr)
}
