package bus

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
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
	// Queue is the queue the event failed in, for a queue's dead letter (a
	// DeadLetterSource's); empty for the bus's own, which failed to reach the target.
	Queue string `json:"queue,omitempty"`
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
	if err := b.store.moveToDead(d, rec); err != nil {
		b.log.Error("dead-letter delivery", "rule", r.sub.Name, "event", d.EventID, "error", err)
		return
	}
	b.deadLettered.Add(1)
	b.observeDeadLetter(r.sub.Name, rec, d.Event)
	b.log.Warn("delivery dead-lettered", "rule", r.sub.Name, "event", d.EventID, "reason", reason,
		"attempts", d.Attempts, "lastError", d.LastError, "deadLetter", rec.ID)
}

// DeadLetters lists the dead-letter store, oldest first.
func (b *Bus) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	out, _, err := b.DeadLetterPage(ctx, 0, "")
	return out, err
}

// ErrBadCursor is a dead-letter page cursor that this bus did not issue.
var ErrBadCursor = errors.New("cursor is not one a dead-letter listing returned")

// MaxDeadLetterPage is the largest page DeadLetterPage returns.
const MaxDeadLetterPage = 1000

// DeadLetterPage lists up to limit dead letters (0: all of them, otherwise 1 to
// MaxDeadLetterPage), oldest first, after cursor ("" for the first page), and the
// cursor of the next page ("" on the last). Dead letters older than
// Options.DeadLetterRetention are deleted first, as SQS deletes messages past the
// queue's retention period, so they are never listed or redriven.
func (b *Bus) DeadLetterPage(ctx context.Context, limit int, cursor string) ([]DeadLetter, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	if limit < 0 || limit > MaxDeadLetterPage {
		return nil, "", fmt.Errorf("limit must be 1..%d", MaxDeadLetterPage)
	}
	var after pageKey
	if cursor != "" {
		var err error
		if after, err = decodePageKey(cursor); err != nil {
			return nil, "", err
		}
	}
	recs, err := b.liveDeadLetters()
	if err != nil {
		return nil, "", fmt.Errorf("list dead letters: %w", err)
	}
	all := make([]DeadLetter, 0, len(recs))
	for _, rec := range recs {
		dl := rec.DeadLetter
		if err := json.Unmarshal(rec.Event, &dl.Event); err != nil {
			dl.Event = events.EventBridgeEvent{ID: rec.EventID, Detail: nil}
		}
		all = append(all, dl)
	}
	b.mu.RLock()
	sources := slices.Clone(b.sources)
	b.mu.RUnlock()
	for _, src := range sources {
		dls, err := src.DeadLetters(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("list dead letters: %w", err)
		}
		all = append(all, dls...)
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].DeadLetteredAt.Equal(all[j].DeadLetteredAt) {
			return all[i].DeadLetteredAt.Before(all[j].DeadLetteredAt)
		}
		return all[i].ID < all[j].ID
	})
	if cursor != "" {
		i := sort.Search(len(all), func(i int) bool { return after.before(all[i]) })
		all = all[i:]
	}
	next := ""
	if limit > 0 && len(all) > limit {
		all = all[:limit]
		last := all[limit-1]
		next = pageKey{At: last.DeadLetteredAt, ID: last.ID}.encode()
	}
	return all, next, nil
}

// DeadLetterSource is another dead-letter store that DeadLetterPage lists and Redrive
// redrives together with the bus's own, so one command covers every store (devstack's
// queue dead-letter queues). Its ids start with DeadLetterIDPrefix and differ from the
// bus's ("dl-" and a UUID).
type DeadLetterSource interface {
	// Owns reports whether id is one of this source's dead letters' ids.
	Owns(id string) bool
	// DeadLetters lists every dead letter of the source.
	DeadLetters(ctx context.Context) ([]DeadLetter, error)
	// Redrive moves the dead letters with ids (every one when none) back to where
	// they failed and returns how many it moved; an unknown id moves none and fails
	// with ErrDeadLetterMissing.
	Redrive(ctx context.Context, ids ...string) (int, error)
}

// DeadLetterIDPrefix starts every dead letter's id, the bus's and its sources'.
const DeadLetterIDPrefix = deadLetterIDPrefix

// AddDeadLetterSource lists and redrives src's dead letters with the bus's.
func (b *Bus) AddDeadLetterSource(src DeadLetterSource) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sources = append(b.sources, src)
}

// liveDeadLetters returns the stored dead letters within the retention period and
// deletes the others.
func (b *Bus) liveDeadLetters() ([]deadRecord, error) {
	recs, err := b.store.deadLetters()
	if err != nil {
		return nil, err
	}
	cutoff := b.now().Add(-b.opts.DeadLetterRetention)
	var expired []string
	live := recs[:0]
	for _, rec := range recs {
		if rec.DeadLetteredAt.Before(cutoff) {
			expired = append(expired, rec.ID)
			continue
		}
		live = append(live, rec)
	}
	if len(expired) > 0 {
		if err := b.store.deleteDead(expired); err != nil {
			return nil, fmt.Errorf("delete expired dead letters: %w", err)
		}
		b.log.Info("expired dead letters deleted", "count", len(expired), "retention", b.opts.DeadLetterRetention)
	}
	return live, nil
}

// PurgeExpiredDeadLetters deletes the dead letters older than the retention period.
func (b *Bus) PurgeExpiredDeadLetters() error {
	_, err := b.liveDeadLetters()
	return err
}

// pageKey is where a dead-letter page ends: the sort key of its last entry.
type pageKey struct {
	At time.Time `json:"t"`
	ID string    `json:"id"`
}

// before reports whether the page key sorts before dl (dl belongs to a later page).
func (k pageKey) before(dl DeadLetter) bool {
	if !k.At.Equal(dl.DeadLetteredAt) {
		return k.At.Before(dl.DeadLetteredAt)
	}
	return k.ID < dl.ID
}

func (k pageKey) encode() string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageKey(s string) (pageKey, error) {
	var k pageKey
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &k) != nil || !strings.HasPrefix(k.ID, deadLetterIDPrefix) || k.At.IsZero() {
		return pageKey{}, ErrBadCursor
	}
	return k, nil
}

// Redrive moves dead letters back to their rule as fresh deliveries (attempts and age
// reset) and returns how many it moved. No ids means all of them. An unknown id fails
// the whole call with ErrDeadLetterMissing and moves nothing. A dead letter whose rule
// is not subscribed right now waits pending until it is.
func (b *Bus) Redrive(ctx context.Context, ids ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := b.PurgeExpiredDeadLetters(); err != nil { // expired ones are gone, as on SQS
		return 0, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return 0, ErrClosed
	}
	// The sources' ids first: each source moves all of its ids or none.
	own, moved := ids, 0
	for _, src := range b.sources {
		var mine []string
		own, mine = partition(own, src.Owns)
		if len(ids) > 0 && len(mine) == 0 {
			continue
		}
		n, err := src.Redrive(ctx, mine...)
		if err != nil {
			return moved, fmt.Errorf("redrive: %w", err)
		}
		moved += n
	}
	if len(ids) > 0 && len(own) == 0 {
		return moved, nil
	}
	ds, err := b.store.redrive(own, b.now().UTC())
	if err != nil {
		return moved, fmt.Errorf("redrive: %w", err)
	}
	for _, d := range ds {
		if r, ok := b.rules[d.Rule]; ok {
			r.push(d)
		}
	}
	return moved + len(ds), nil
}

// partition splits ids into those mine rejects and those it accepts.
func partition(ids []string, mine func(string) bool) (rest, accepted []string) {
	for _, id := range ids {
		if mine(id) {
			accepted = append(accepted, id)
		} else {
			rest = append(rest, id)
		}
	}
	return rest, accepted
}

// Pending counts the deliveries not yet done or dead-lettered, over every rule:
// queued, in flight, or waiting for a retry. Zero with no dead letters means every
// event put so far reached every target it matched.
func (b *Bus) Pending() (int, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return 0, ErrClosed
	}
	n := 0
	for name := range b.rules {
		ds, err := b.store.pending(name)
		if err != nil {
			return 0, fmt.Errorf("pending deliveries of rule %s: %w", name, err)
		}
		n += len(ds)
	}
	return n, nil
}
