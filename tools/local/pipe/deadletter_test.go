package pipe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/faults"
	"github.com/concertsys/tools/local/pipe"
)

// A batch whose enrichment keeps failing is retried MaxRetryAttempts times, then its
// stream coordinates go to the dead-letter store and the pipe moves on; a redrive
// reads those records from the log again and puts them through enrichment to the bus.
func TestRetryThenDeadLetterThenSkipThenRedrive(t *testing.T) {
	for _, store := range []string{"memory", "file"} {
		t.Run(store, func(t *testing.T) {
			f := newFixture(t)
			var broken atomic.Bool
			broken.Store(true)
			var calls atomic.Int64
			enrich := func(ctx context.Context, records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
				calls.Add(1)
				for _, r := range records {
					if broken.Load() && r.Change.Keys["AggregateId"].String() == "bad" {
						return nil, errors.New("enricher cannot handle this record")
					}
				}
				return enrichRecords(ctx, records)
			}
			cfg := f.config(enrich, pipe.NewFileCheckpoint(filepath.Join(f.dir, "cp")))
			cfg.BatchSize = 5
			cfg.MaxRetryAttempts = 3
			if store == "file" {
				cfg.DeadLetters = pipe.NewFileDeadLetters(filepath.Join(f.dir, "pipe-dead-letters.json"))
			}
			bad := f.appendEvents(t, "bad", 0, 5) // positions 1..5: one batch
			good := f.appendEvents(t, "good", 0, 5)
			p, err := pipe.Start(cfg)
			require.NoError(t, err)
			f.seen.waitFor(t, good) // the pipe moved past the failing batch
			require.NoError(t, p.Sync(context.Background()))
			require.Equal(t, uint64(10), p.Position(), "checkpoint advanced past the dead-lettered batch")
			require.Equal(t, int64(4+1), calls.Load(), "got %d enrichment calls, want 1 + 3 retries for the bad batch and 1 for the good one", calls.Load())

			dls, err := p.DeadLetters()
			require.NoError(t, err)
			require.Len(t, dls, 1)
			dl := dls[0]
			require.Equal(t, pipe.ConditionRetryAttemptsExhausted, dl.Condition)
			require.Equal(t, 4, dl.ApproximateInvokeCount)
			require.Contains(t, dl.LastError, "enricher cannot handle this record")
			require.Equal(t, pipe.SequenceNumber(1), dl.BatchInfo.StartSequenceNumber)
			require.Equal(t, pipe.SequenceNumber(5), dl.BatchInfo.EndSequenceNumber)
			require.Equal(t, 5, dl.BatchInfo.BatchSize)
			require.Equal(t, pipe.ShardID, dl.BatchInfo.ShardID)
			require.Equal(t, pipe.StreamARN("us-east-1", "000000000000", "concerts-events"), dl.BatchInfo.StreamArn)
			f.seen.mu.Lock()
			for _, k := range bad {
				require.Zero(t, f.seen.byKey[k], "dead-lettered %s must not be on the bus", k)
			}
			f.seen.mu.Unlock()

			_, err = p.Redrive(context.Background(), "pdl-unknown")
			require.ErrorIs(t, err, pipe.ErrDeadLetterMissing)
			_, err = p.Redrive(context.Background(), dl.ID)
			require.Error(t, err, "still broken: the redrive fails and keeps the dead letter")
			dls, err = p.DeadLetters()
			require.NoError(t, err)
			require.Len(t, dls, 1)

			broken.Store(false) // the enricher is fixed
			n, err := p.Redrive(context.Background())
			require.NoError(t, err)
			require.Equal(t, 1, n)
			f.seen.waitFor(t, bad)
			dls, err = p.DeadLetters()
			require.NoError(t, err)
			require.Empty(t, dls)
			require.NoError(t, p.Close(context.Background()))
		})
	}
}

// Entries the bus fails transiently go through the whole pipe again, enrichment
// included, and only they; those retries do not count against MaxRetryAttempts.
func TestPartialPutFailureRetriesOnlyTheFailedRecords(t *testing.T) {
	f := newFixture(t)
	in := faults.New(faults.Spec{Put: 0.5, Seed: 4})
	b, err := bus.New(bus.Options{Name: "faulty", Faults: in})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	require.NoError(t, b.Subscribe(subscriptionAll(), f.seen.target))
	var mu sync.Mutex
	var batches [][]string
	enrich := func(ctx context.Context, records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
		var ids []string
		for _, r := range records {
			ids = append(ids, r.Change.SequenceNumber)
		}
		mu.Lock()
		batches = append(batches, ids)
		mu.Unlock()
		return enrichRecords(ctx, records)
	}
	cfg := f.config(enrich, nil)
	cfg.Bus = b
	cfg.MaxRetryAttempts = 1 // transient failures must not use it up
	keys := f.appendEvents(t, "c1", 0, 40)
	p, err := pipe.Start(cfg)
	require.NoError(t, err)
	f.seen.waitFor(t, keys)
	require.NoError(t, p.Sync(context.Background()))
	require.NoError(t, p.Close(context.Background()))
	dls, err := p.DeadLetters()
	require.NoError(t, err)
	require.Empty(t, dls, "transient entry failures dead-lettered a batch")
	require.Positive(t, in.Counts()[faults.Put])
	f.seen.mu.Lock()
	defer f.seen.mu.Unlock()
	for _, k := range keys {
		require.Equal(t, 1, f.seen.byKey[k], "event %s: got %d deliveries, want 1: only failed records are sent again", k, f.seen.byKey[k])
	}
	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, len(batches), 4, "retries went through the enrichment again")
}

func subscriptionAll() subscription.Subscription {
	return subscription.Subscription{Name: "all", Pattern: json.RawMessage(`{"source":["concerts"]}`)}
}

func TestDeadLetterStores(t *testing.T) {
	stores := map[string]func(t *testing.T) pipe.DeadLetterStore{
		"memory": func(t *testing.T) pipe.DeadLetterStore { return &pipe.MemoryDeadLetters{} },
		"file": func(t *testing.T) pipe.DeadLetterStore {
			return pipe.NewFileDeadLetters(filepath.Join(t.TempDir(), "dead.json"))
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			require.NoError(t, s.Add(pipe.DeadLetter{ID: "pdl-a"}))
			require.NoError(t, s.Add(pipe.DeadLetter{ID: "pdl-b"}))
			require.ErrorIs(t, s.Remove("pdl-x"), pipe.ErrDeadLetterMissing)
			require.NoError(t, s.Remove("pdl-a"))
			got, err := s.List()
			require.NoError(t, err)
			require.Equal(t, []pipe.DeadLetter{{ID: "pdl-b"}}, got, "got %v want pdl-b only", got)
		})
	}
	t.Run("file survives a reopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "dead.json")
		require.NoError(t, pipe.NewFileDeadLetters(path).Add(pipe.DeadLetter{ID: "pdl-a", Pipe: "p"}))
		got, err := pipe.NewFileDeadLetters(path).List()
		require.NoError(t, err)
		require.Equal(t, []pipe.DeadLetter{{ID: "pdl-a", Pipe: "p"}}, got)
	})
	t.Run("bounded, with a clear error", func(t *testing.T) {
		s := &pipe.MemoryDeadLetters{}
		for i := range pipe.MaxDeadLetters {
			require.NoError(t, s.Add(pipe.DeadLetter{ID: fmt.Sprint(i)}))
		}
		err := s.Add(pipe.DeadLetter{ID: "one too many"})
		require.ErrorIs(t, err, pipe.ErrDeadLettersFull)
		require.Contains(t, err.Error(), "redrive them")
	})
}
