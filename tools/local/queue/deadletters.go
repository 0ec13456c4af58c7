package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/tools/local/bus"
)

// Reason of a queue dead letter in the bus's dead-letter listing.
const ReasonMaxReceiveCount = "MaxReceiveCountExceeded"

// deadLetterPrefix marks the ids of queue dead letters: bus.DeadLetterIDPrefix + "q-"
// + the message id (the bus's own ids continue with a UUID, never "q-").
const deadLetterPrefix = bus.DeadLetterIDPrefix + "q-"

// DeadLetters lists and redrives the messages of every dead-letter queue of the
// broker as bus dead letters (bus.DeadLetterSource), so `devstack dead-letters list`
// and `redrive` cover the queues too. A redrive moves messages back to the queue they
// failed in, as StartMessageMoveTask does on AWS.
type DeadLetters struct{ B *Broker }

var _ bus.DeadLetterSource = DeadLetters{}

// Owns reports whether id names a queue dead letter.
func (d DeadLetters) Owns(id string) bool { return strings.HasPrefix(id, deadLetterPrefix) }

// deadLetterQueues are the queues some queue's redrive policy names, with the queues
// that redrive to each.
func (d DeadLetters) deadLetterQueues() map[*Queue][]*Queue {
	b := d.B
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[*Queue][]*Queue{}
	for _, q := range b.queues {
		if q.cfg.DeadLetter != "" {
			dlq := b.queues[q.cfg.DeadLetter]
			out[dlq] = append(out[dlq], q)
		}
	}
	return out
}

// DeadLetters lists the messages of every dead-letter queue.
func (d DeadLetters) DeadLetters(ctx context.Context) ([]bus.DeadLetter, error) {
	var out []bus.DeadLetter
	for dlq, sources := range d.deadLetterQueues() {
		label := map[string]string{}
		for _, q := range sources {
			label[q.cfg.Name] = q.cfg.Label
		}
		for _, m := range dlq.Messages() {
			dl := bus.DeadLetter{
				ID: deadLetterPrefix + m.ID, Rule: label[m.SourceQueue], Attempts: m.ReceiveCount,
				LastError: m.LastError, Reason: ReasonMaxReceiveCount, ReceivedAt: m.SentAt, DeadLetteredAt: m.DeadLetteredAt,
				Queue: m.SourceQueue,
			}
			if dl.Rule == "" {
				dl.Rule = m.SourceQueue
			}
			if dl.DeadLetteredAt.IsZero() { // sent to the dead-letter queue directly
				dl.DeadLetteredAt = m.SentAt
			}
			var ev events.EventBridgeEvent
			if json.Unmarshal([]byte(m.Body), &ev) == nil {
				dl.Event = ev
			}
			out = append(out, dl)
		}
	}
	return out, ctx.Err()
}

// Redrive moves the named messages (every one when none) from their dead-letter
// queues back to the queues they came from. An unknown id moves nothing.
func (d DeadLetters) Redrive(ctx context.Context, ids ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	type move struct{ dlq, dest *Queue }
	picks := map[move][]string{}
	want := map[string]bool{}
	for _, id := range ids {
		want[strings.TrimPrefix(id, deadLetterPrefix)] = true
	}
	found := 0
	for dlq, sources := range d.deadLetterQueues() {
		byName := map[string]*Queue{}
		for _, q := range sources {
			byName[q.cfg.Name] = q
		}
		for _, m := range dlq.Messages() {
			if len(ids) > 0 && !want[m.ID] {
				continue
			}
			dest := byName[m.SourceQueue]
			if dest == nil && len(sources) == 1 {
				dest = sources[0]
			}
			if dest == nil {
				continue // its queue is gone; it stays for inspection
			}
			picks[move{dlq, dest}] = append(picks[move{dlq, dest}], m.ID)
			found++
		}
	}
	if len(ids) > 0 && found != len(want) {
		return 0, fmt.Errorf("%w: %d of %d ids are not in any dead-letter queue", bus.ErrDeadLetterMissing, len(want)-found, len(want))
	}
	moved := 0
	for mv, msgIDs := range picks {
		n, err := mv.dlq.MoveMessages(mv.dest, msgIDs...)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}
