package notifications_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/notifications/internal/domain"
	"github.com/concertsys/tools/local/lambdainvoke"
	"github.com/concertsys/tools/local/queue"
)

// TestFanOutSplitRetriesAFailedBatchAlone: with the fan-out queue, one change to 25
// subscribers goes out as three batches of at most 10, each posted by its own
// invocation of the batch function through the queue emulator's event source mapping.
// A connection that keeps failing fails only its batch: that batch is received again
// (maxReceiveCount times) and then dead-lettered, while every other connection gets
// the change exactly once, and a real client in the first batch receives it.
func TestFanOutSplitRetriesAFailedBatchAlone(t *testing.T) {
	const fake, perBatch, maxReceives = 24, 10, 3
	q, dlq := newFanOutQueue(t, 500*time.Millisecond, maxReceives) // longer than posting a batch of 10 takes
	store := stores[0].open(t)
	h := newHarness(t, store, harnessOptions{concurrency: 16, batches: q, perBatch: perBatch})
	real := h.dial(t)
	real.subscribe("c1")
	ctx := context.Background()
	ids := subscribeFakes(t, h, store, "c1", fake)
	failing := ids[14] // in the second batch
	h.setFail(failing, true)

	startBatchWorker(t, h, q, 3)

	require.NoError(t, h.fanOut()(ctx, viewEvent("c1", 1, "Owls")), "the fan-out only queues batches")
	got := real.next()
	require.Equal(t, "concert.updated", got["type"], "got %v", got)
	require.Eventually(t, func() bool { return len(dlq.Messages()) == 1 }, 20*time.Second, 10*time.Millisecond, "the failing batch is dead-lettered")
	dead := dlq.Messages()[0]
	require.Equal(t, maxReceives, dead.ReceiveCount, "last error %s", dead.LastError)
	require.Contains(t, dead.Body, failing, "last error %s", dead.LastError)

	h.failMu.Lock()
	defer h.failMu.Unlock()
	require.Equal(t, maxReceives, h.posts[failing], "got %d posts to the failing connection want %d", h.posts[failing], maxReceives)
	require.Equal(t, 2, h.posts[real.id], "the real client gets its subscribe reply and the change, once")
	failedBatch, err := domain.DecodeFanOutBatch([]byte(dead.Body))
	require.NoError(t, err)
	require.Len(t, failedBatch.Connections, perBatch)
	retried := 0
	for _, id := range ids {
		if slices.Contains(failedBatch.Connections, id) {
			retried++
			continue // its batch was received again: these (gone, so forgotten) are posted again
		}
		require.Equal(t, 1, h.posts[id], "connection %s outside the failed batch: got %d posts want 1", id, h.posts[id])
	}
	require.Equal(t, perBatch, retried)
}

// newFanOutQueue is the fan-out queue on devstack's queue emulator (in memory), with
// a dead-letter queue after maxReceives receives.
func newFanOutQueue(t testing.TB, visibility time.Duration, maxReceives int) (q, dlq *queue.Queue) {
	t.Helper()
	broker, err := queue.Open(queue.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = broker.Close() })
	dlq, err = broker.CreateQueue(queue.Config{Name: "fan-out-batches-dlq"})
	require.NoError(t, err)
	q, err = broker.CreateQueue(queue.Config{Name: notifications.QueueFanOutBatches, VisibilityTimeout: visibility,
		DeadLetter: dlq.Name(), MaxReceiveCount: maxReceives})
	require.NoError(t, err)
	return q, dlq
}

// startBatchWorker runs the harness's fan-out-batch function behind q as Lambda's
// event source mapping does, one batch per invocation, pollers at once.
func startBatchWorker(t testing.TB, h *harness, q *queue.Queue, pollers int) {
	t.Helper()
	worker := h.svc.QueueWorkers[0]
	require.Equal(t, notifications.FunctionFanOutBatch, worker.Function)
	fn := lambdainvoke.New(worker.Function, lambdainvoke.ARN("us-east-1", "000000000000", worker.Function), worker.Handler, 30*time.Second)
	m, err := queue.StartMapping(queue.MappingConfig{Queue: q, Function: fn, BatchSize: 1, Pollers: pollers, PollWait: 20 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
}

// TestFanOutPostsOneBatchItself: a change whose subscribers fit in one batch is posted
// by the fan-out itself, with the fan-out queue configured: nothing is queued (no
// batch worker runs here) and every subscriber gets it once.
func TestFanOutPostsOneBatchItself(t *testing.T) {
	tests := []struct {
		name        string
		subscribers int // besides the real client
	}{
		{"only the real client", 0},
		{"exactly one batch", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const perBatch = 10
			q, _ := newFanOutQueue(t, time.Second, 3)
			store := stores[0].open(t)
			h := newHarness(t, store, harnessOptions{concurrency: 16, batches: q, perBatch: perBatch})
			real := h.dial(t)
			real.subscribe("c1")
			ctx := context.Background()
			ids := subscribeFakes(t, h, store, "c1", tt.subscribers)
			require.NoError(t, h.fanOut()(ctx, viewEvent("c1", 1, "Owls")))
			require.Empty(t, q.Messages(), "got batches queued for %d subscribers, want none", tt.subscribers+1)
			got := real.next()
			require.Equal(t, "concert.updated", got["type"], "got %v", got)
			h.failMu.Lock()
			defer h.failMu.Unlock()
			for _, id := range ids {
				require.Equal(t, 1, h.posts[id], "connection %s: got %d posts want 1", id, h.posts[id])
			}
		})
	}
}

// subscribeFakes stores n connections without a socket (fake-0000, …), each
// subscribed to concertID for an hour, and returns their ids.
func subscribeFakes(t *testing.T, h *harness, store notifications.Store, concertID string, n int) []string {
	t.Helper()
	ctx := context.Background()
	expires := h.clock.Now().Add(time.Hour)
	var ids []string
	for i := range n {
		id := fmt.Sprintf("fake-%04d", i)
		ids = append(ids, id)
		require.NoError(t, store.PutConnection(ctx, notifications.Connection{ID: id, ConnectedAt: h.clock.Now(), ExpiresAt: expires}))
		require.NoError(t, store.Subscribe(ctx, id, concertID, expires))
	}
	return ids
}
