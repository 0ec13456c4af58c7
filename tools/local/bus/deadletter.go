package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Why a delivery was dead-lettered.
const (
	ReasonMaxAttempts  = "MaxAttemptsExceeded"
	ReasonMaxEventAge  = "MaxEventAgeExceeded"
	ReasonUndecodable  = "UndecodableEvent"
	deadLetterIDPrefix = "dl-"
)

// DeadLetter is a delivery that gave up: the event, the rule it was for, how often it
// was tried and why it failed. A person lists them and redrives them once the target
// is fixed.
type DeadLetter struct {
	ID             string                  `json:"id"`
	Rule           string                  `json:"rule"`
	Event          events.EventBridgeEvent `json:"event"`
	Attempts       int                     `json:"attempts"`
	LastError      string                  `json:"lastError"`
	Reason         string                  `json:"reason"`
	ReceivedAt     time.Time               `json:"receivedAt"`
	DeadLetteredAt time.Time               `json:"deadLetteredAt"`
}

// deadRecord is a DeadLetter as stored: the event stays raw so a redrive re-delivers
// exactly the bytes that were put. Its Event shadows DeadLetter's, in Go and in JSON,
// so the stored layout is DeadLetter's fields with the raw event and its id.
type deadRecord struct {
	DeadLetter
	EventID string          `json:"eventId"`
	Event   json.RawMessage `json:"event"`
}

func (b *Bus) toDeadLetter(r *rule, d *delivery, reason string) {
	rec := deadRecord{
		DeadLetter: DeadLetter{
			ID:             deadLetterIDPrefix + newUUID(),
			Rule:           d.Rule,
			Attempts:       d.Attempts,
			LastError:      d.LastError,
			Reason:         reason,
			ReceivedAt:     d.ReceivedAt,
			DeadLetteredAt: b.now().UTC(),
		},
		EventID: d.EventID,
		Event:   d.Event,
	}
	if err := b.store.moveToDead(rec); err != nil {
		b.log.Error("dead-letter delivery", "rule", r.sub.Name, "event", d.EventID, "error", err)
		return
	}
	b.deadLettered.Add(1)
	b.log.Warn("delivery dead-lettered", "rule", r.sub.Name, "event", d.EventID, "reason", reason,
		"attempts", d.Attempts, "lastError", d.LastError, "deadLetter", rec.ID)
}

// DeadLetters lists the dead-letter store, oldest first.
func (b *Bus) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	recs, err := b.store.deadLetters()
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	sort.Slice(recs, func(i, j int) bool {
		if !recs[i].DeadLetteredAt.Equal(recs[j].DeadLetteredAt) {
			return recs[i].DeadLetteredAt.Before(recs[j].DeadLetteredAt)
		}
		return recs[i].ID < recs[j].ID
	})
	out := make([]DeadLetter, 0, len(recs))
	for _, rec := range recs {
		dl := rec.DeadLetter
		if err := json.Unmarshal(rec.Event, &dl.Event); err != nil {
			dl.Event = events.EventBridgeEvent{ID: rec.EventID, Detail: nil}
		}
		out = append(out, dl)
	}
	return out, nil
}

// Redrive moves dead letters back to their rule as fresh deliveries (attempts and age
// reset) and returns how many it moved. No ids means all of them. An unknown id fails
// the whole call with ErrDeadLetterMissing and moves nothing. A dead letter whose rule
// is not subscribed right now waits pending until it is.
func (b *Bus) Redrive(ctx context.Context, ids ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return 0, ErrClosed
	}
	ds, err := b.store.redrive(ids, b.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("redrive: %w", err)
	}
	for _, d := range ds {
		if r, ok := b.rules[d.Rule]; ok {
			r.push(d)
		}
	}
	return len(ds), nil
}
