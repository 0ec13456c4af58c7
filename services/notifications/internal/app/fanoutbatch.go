package app

import (
	"context"
	"fmt"

	"github.com/concertsys/services/notifications/internal/domain"
)

// Limits of one BatchQueue.Enqueue call (SQS SendMessageBatch's).
const (
	MaxSendEntries = 10
	MaxSendBytes   = 256 * 1024
)

// BatchQueue is the fan-out queue: a fan-out hands its batches of connections to it,
// and the batch function (an event source mapping with ReportBatchItemFailures)
// posts each batch in its own invocation, so no one invocation's timeout bounds how
// many connections a change reaches, and a failed batch is retried alone.
type BatchQueue interface {
	// Enqueue puts bodies in the queue (at most MaxSendEntries, MaxSendBytes in all);
	// it returns once every one is in the queue, or an error.
	Enqueue(ctx context.Context, bodies [][]byte) error
}

// split sends one change's batches to the queue, in SendMessageBatch-sized groups.
func (f *FanOut) split(ctx context.Context, u domain.ConcertViewUpdated, msg []byte, targets []string) (FanOutStats, error) {
	bodies, err := domain.SplitFanOut(u, msg, targets, f.perBatch)
	if err != nil {
		return FanOutStats{}, err
	}
	for len(bodies) > 0 {
		n, size := 0, 0
		for n < len(bodies) && n < MaxSendEntries && size+len(bodies[n]) <= MaxSendBytes {
			size += len(bodies[n])
			n++
		}
		// A retry of the whole change sends every batch again: the claims make the
		// connections already served skip it.
		if err := f.batches.Enqueue(ctx, bodies[:n]); err != nil {
			return FanOutStats{}, fmt.Errorf("fan-out %s v%d: queue batches: %w", u.ConcertID, u.Version, err)
		}
		bodies = bodies[n:]
	}
	f.logger.InfoContext(ctx, "fan-out split into batches", "concertId", u.ConcertID, "version", u.Version, "eventId", u.EventID,
		"subscribers", len(targets))
	return FanOutStats{Queued: len(targets)}, nil
}

// PostBatch posts one batch's message to its connections, each at most once per
// version as Handle does; an error means some connection must be retried, and the
// batch is received again alone.
func (f *FanOut) PostBatch(ctx context.Context, b domain.FanOutBatch) (FanOutStats, error) {
	return f.post(ctx, domain.ConcertViewUpdated{EventID: b.EventID, ConcertID: b.ConcertID, Version: b.Version}, b.Message, b.Connections)
}
