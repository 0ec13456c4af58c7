package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/concertsys/platform/queueconsumer"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/lambdainvoke"
	"github.com/concertsys/tools/local/queue"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// open is a broker with a queue "q" (visibility 30 s, redrive to "dlq" after 2
// receives, bound 3) on a fake clock, in memory or in a file.
func open(t *testing.T, path string, c *clock) (*queue.Broker, *queue.Queue, *queue.Queue) {
	t.Helper()
	b, err := queue.Open(queue.Options{Path: path, Now: c.now, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	dlq, err := b.CreateQueue(queue.Config{Name: "dlq", Retention: queue.MaxRetention})
	require.NoError(t, err)
	q, err := b.CreateQueue(queue.Config{Name: "q", VisibilityTimeout: 30 * time.Second, DeadLetter: "dlq", MaxReceiveCount: 2, MaxMessages: 3, Label: "rule-q"})
	require.NoError(t, err)
	return b, q, dlq
}

func TestQueueSemantics(t *testing.T) {
	for _, mode := range []string{"memory", "bolt"} {
		t.Run(mode, func(t *testing.T) {
			fresh := func() string {
				if mode == "bolt" {
					return filepath.Join(t.TempDir(), "queues.db")
				}
				return ""
			}
			path := fresh()
			t.Run("visibility timeout hides a received message; receive count grows", func(t *testing.T) {
				c := &clock{t: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
				_, q, _ := open(t, fresh(), c)
				id, err := q.Send("one")
				require.NoError(t, err)
				got, err := q.Receive(10, 0)
				require.NoError(t, err)
				require.Len(t, got, 1)
				require.Equal(t, id, got[0].ID)
				require.Equal(t, 1, got[0].ReceiveCount)
				again, err := q.Receive(10, 0)
				require.NoError(t, err)
				require.Empty(t, again, "got %v want nothing while hidden", again)
				c.add(30 * time.Second)
				again, err = q.Receive(10, 0)
				require.NoError(t, err)
				require.Len(t, again, 1)
				require.Equal(t, 2, again[0].ReceiveCount, "got receive count %d want 2", again[0].ReceiveCount)
				require.NoError(t, q.Delete(got[0].ReceiptHandle), "a stale handle succeeds")
				require.Equal(t, queue.Attributes{NotVisible: 1}, q.Attributes(), "a stale handle deletes nothing")
				require.NoError(t, q.Delete(again[0].ReceiptHandle))
				require.Equal(t, queue.Attributes{}, q.Attributes())
				require.ErrorIs(t, q.Delete("garbage"), queue.ErrInvalidReceiptHandle)
			})
			t.Run("redrive to the dead-letter queue after maxReceiveCount receives", func(t *testing.T) {
				c := &clock{t: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
				_, q, dlq := open(t, fresh(), c)
				_, err := q.Send("poison")
				require.NoError(t, err)
				for i := 1; i <= 2; i++ {
					got, err := q.Receive(10, 0)
					require.NoError(t, err)
					require.Len(t, got, 1, "receive %d", i)
					require.NoError(t, q.Fail(got[0].ReceiptHandle, fmt.Sprintf("failure %d", i)))
					c.add(31 * time.Second)
				}
				got, err := q.Receive(10, 0)
				require.NoError(t, err)
				require.Empty(t, got, "the third receive moves it instead")
				dead := dlq.Messages()
				require.Len(t, dead, 1)
				require.Equal(t, "poison", dead[0].Body)
				require.Equal(t, 2, dead[0].ReceiveCount)
				require.Equal(t, "failure 2", dead[0].LastError)
				require.Equal(t, "q", dead[0].SourceQueue)
			})
			t.Run("retention and the bound", func(t *testing.T) {
				c := &clock{t: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
				_, q, _ := open(t, fresh(), c)
				for i := range 3 {
					_, err := q.Send(fmt.Sprint(i))
					require.NoError(t, err)
				}
				_, err := q.Send("3")
				require.ErrorIs(t, err, queue.ErrQueueFull, "got %v want ErrQueueFull", err)
				require.ErrorContains(t, err, "its bound is 3")
				c.add(queue.DefaultRetention + time.Second)
				require.Empty(t, q.Messages(), "past retention")
				_, err = q.Send("again")
				require.NoError(t, err)
			})
			t.Run("limits", func(t *testing.T) {
				c := &clock{t: time.Now()}
				b, q, _ := open(t, fresh(), c)
				_, err := q.Send(string(make([]byte, queue.MaxBodyBytes+1)))
				require.ErrorIs(t, err, queue.ErrMessageTooLong)
				_, err = q.Receive(11, 0)
				require.ErrorIs(t, err, queue.ErrInvalidParameterValue)
				_, err = b.CreateQueue(queue.Config{Name: "x", DeadLetter: "nope", MaxReceiveCount: 1})
				require.ErrorIs(t, err, queue.ErrNoSuchQueue)
				_, err = b.CreateQueue(queue.Config{Name: "q"})
				require.ErrorIs(t, err, queue.ErrQueueExists)
				_, err = b.CreateQueue(queue.Config{Name: "bad name"})
				require.ErrorIs(t, err, queue.ErrInvalidParameterValue)
			})
			if path == "" {
				return
			}
			t.Run("durable across a restart", func(t *testing.T) {
				c := &clock{t: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
				b, q, _ := open(t, path, c)
				_, err := q.Send("kept")
				require.NoError(t, err)
				_, err = q.Receive(1, 0)
				require.NoError(t, err)
				require.NoError(t, b.Close())
				_, q2, _ := open(t, path, c)
				c.add(time.Minute)
				got, err := q2.Receive(10, 0)
				require.NoError(t, err)
				require.Len(t, got, 1)
				require.Equal(t, "kept", got[0].Body)
				require.Equal(t, 2, got[0].ReceiveCount, "got receive count %d want 2: the first receive was kept", got[0].ReceiveCount)
			})
		})
	}
}

func TestOutcome(t *testing.T) {
	batch := []queue.Received{{Message: queue.Message{ID: "m1"}, ReceiptHandle: "h1"}, {Message: queue.Message{ID: "m2"}, ReceiptHandle: "h2"}}
	tests := []struct {
		name        string
		out         string
		err         error
		wantDeleted []string
		wantFailed  []string
	}{
		{"empty answer: all succeeded", ``, nil, []string{"h1", "h2"}, nil},
		{"null", `null`, nil, []string{"h1", "h2"}, nil},
		{"empty list", `{"batchItemFailures":[]}`, nil, []string{"h1", "h2"}, nil},
		{"one failed", `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, nil, []string{"h1"}, []string{"h2"}},
		{"invocation error fails all", ``, errors.New("boom"), nil, []string{"h1", "h2"}},
		{"not json fails all", `{`, nil, nil, []string{"h1", "h2"}},
		{"unknown id fails all", `{"batchItemFailures":[{"itemIdentifier":"zz"}]}`, nil, nil, []string{"h1", "h2"}},
		{"empty id fails all", `{"batchItemFailures":[{"itemIdentifier":""}]}`, nil, nil, []string{"h1", "h2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deleted, failed := queue.Outcome(batch, []byte(tt.out), tt.err)
			require.Equal(t, tt.wantDeleted, deleted, "deleted: got %v want %v", deleted, tt.wantDeleted)
			var gotFailed []string
			for _, h := range []string{"h1", "h2"} {
				if _, ok := failed[h]; ok {
					gotFailed = append(gotFailed, h)
				}
			}
			require.Equal(t, tt.wantFailed, gotFailed, "failed: got %v want %v", gotFailed, tt.wantFailed)
		})
	}
}

// TestMappingRetriesAFailedEventAloneThenDeadLettersIt runs the real queueconsumer
// handler through lambdainvoke behind a mapping: the good events are handled once,
// the failing one is received maxReceiveCount times, alone, then it is a dead letter
// the bus's listing shows, and a redrive brings it back.
func TestMappingRetriesAFailedEventAloneThenDeadLettersIt(t *testing.T) {
	b, err := queue.Open(queue.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer b.Close()
	dlq, err := b.CreateQueue(queue.Config{Name: "rule-dlq"})
	require.NoError(t, err)
	q, err := b.CreateQueue(queue.Config{Name: "rule-queue", VisibilityTimeout: 20 * time.Millisecond, DeadLetter: "rule-dlq", MaxReceiveCount: 3, Label: "the-rule"})
	require.NoError(t, err)

	var mu sync.Mutex
	seen := map[string]int{}
	var poisonFixed bool
	target := func(ctx context.Context, e events.EventBridgeEvent) error {
		mu.Lock()
		defer mu.Unlock()
		seen[e.ID]++
		if e.ID == "poison" && !poisonFixed {
			return errors.New("cannot yet")
		}
		return nil
	}
	fn := lambdainvoke.New("consumer", lambdainvoke.ARN("us-east-1", "000000000000", "consumer"), queueconsumer.New(target, slog.New(slog.DiscardHandler)), 5*time.Second)
	m, err := queue.StartMapping(queue.MappingConfig{Queue: q, Function: fn, Pollers: 2, PollWait: 50 * time.Millisecond, QueueARN: "arn:aws:sqs:us-east-1:000000000000:rule-queue", Region: "us-east-1"})
	require.NoError(t, err)
	defer m.Close(context.Background())

	body := func(id string) string {
		return `{"id":"` + id + `","source":"concerts","detail-type":"TicketsSold","detail":{"data":{}}}`
	}
	_, err = q.SendBatch([]string{body("a"), body("poison"), body("b")})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(dlq.Messages()) == 1 }, 10*time.Second, 10*time.Millisecond, "the poison event reaches the dead-letter queue")
	mu.Lock()
	require.Equal(t, map[string]int{"a": 1, "b": 1, "poison": 3}, seen, "got deliveries %v: each good event once, the failing one maxReceiveCount times", seen)
	mu.Unlock()

	src := queue.DeadLetters{B: b}
	dls, err := src.DeadLetters(context.Background())
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Equal(t, "the-rule", dls[0].Rule)
	require.Equal(t, "poison", dls[0].Event.ID)
	require.Equal(t, queue.ReasonMaxReceiveCount, dls[0].Reason)
	require.Equal(t, 3, dls[0].Attempts)
	require.Contains(t, dls[0].LastError, "batchItemFailures")
	require.True(t, src.Owns(dls[0].ID))

	_, err = src.Redrive(context.Background(), "dl-q-nope")
	require.ErrorIs(t, err, bus.ErrDeadLetterMissing)
	mu.Lock()
	poisonFixed = true
	mu.Unlock()
	n, err := src.Redrive(context.Background(), dls[0].ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Eventually(t, func() bool { return len(q.Messages()) == 0 && len(dlq.Messages()) == 0 }, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	require.Equal(t, 4, seen["poison"], "got %d deliveries of the redriven event want 4", seen["poison"])
	mu.Unlock()
}

// crash copies the store file as a crash would leave it now: what the commits so far
// wrote (bbolt fsyncs each before it returns), nothing the process kept in memory.
func crash(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "crashed.db")
	require.NoError(t, os.WriteFile(out, data, 0o600))
	return out
}

// TestDurability checks what survives a crash (a copy of the file) or a Close: every
// accepted send, and the dead-letter move, always; a receive's visibility never (the
// message is visible again: at least once); a delete once the broker closed.
func TestDurability(t *testing.T) {
	start := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	t.Run("a sent message survives a crash", func(t *testing.T) {
		c := &clock{t: start}
		path := filepath.Join(t.TempDir(), "q.db")
		_, q, _ := open(t, path, c)
		id, err := q.SendTraced(`{"id":"e1","detail":{"quote":"\"x\""}}`, "Root=1-abc")
		require.NoError(t, err)
		_, q2, _ := open(t, crash(t, path), c)
		got, err := q2.Receive(10, 0)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, id, got[0].ID)
		require.Equal(t, `{"id":"e1","detail":{"quote":"\"x\""}}`, got[0].Body)
		require.Equal(t, "Root=1-abc", got[0].TraceHeader)
		require.True(t, start.Equal(got[0].SentAt), "got sent at %s want %s", got[0].SentAt, start)
	})
	t.Run("a received message not deleted is visible again after a crash", func(t *testing.T) {
		c := &clock{t: start}
		path := filepath.Join(t.TempDir(), "q.db")
		_, q, _ := open(t, path, c)
		_, err := q.Send("m")
		require.NoError(t, err)
		got, err := q.Receive(10, 0)
		require.NoError(t, err)
		require.Len(t, got, 1)
		_, q2, _ := open(t, crash(t, path), c)
		again, err := q2.Receive(10, 0)
		require.NoError(t, err)
		require.Len(t, again, 1, "got %d messages want the received one, visible at once", len(again))
		require.Equal(t, got[0].ID, again[0].ID)
		require.Equal(t, 1, again[0].ReceiveCount, "got receive count %d want 1: the first receive was not committed", again[0].ReceiveCount)
	})
	t.Run("a receive count rides on the next commit", func(t *testing.T) {
		c := &clock{t: start}
		path := filepath.Join(t.TempDir(), "q.db")
		_, q, _ := open(t, path, c)
		first, err := q.Send("first")
		require.NoError(t, err)
		_, err = q.Receive(1, 0)
		require.NoError(t, err)
		_, err = q.Send("second") // its commit carries first's receive count
		require.NoError(t, err)
		_, q2, _ := open(t, crash(t, path), c)
		got, err := q2.Receive(10, 0)
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Equal(t, first, got[0].ID)
		require.Equal(t, 2, got[0].ReceiveCount, "got receive count %d want 2", got[0].ReceiveCount)
		require.Equal(t, 1, got[1].ReceiveCount, "got receive count %d want 1", got[1].ReceiveCount)
	})
	t.Run("a deleted message is gone after close", func(t *testing.T) {
		c := &clock{t: start}
		path := filepath.Join(t.TempDir(), "q.db")
		b, q, _ := open(t, path, c)
		_, err := q.SendBatch([]string{"a", "b"})
		require.NoError(t, err)
		got, err := q.Receive(10, 0)
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.NoError(t, q.Delete(got[0].ReceiptHandle))
		require.NoError(t, b.Close())
		_, q2, _ := open(t, path, c)
		left := q2.Messages()
		require.Len(t, left, 1, "got %v want only the undeleted message", left)
		require.Equal(t, got[1].ID, left[0].ID)
		require.Equal(t, queue.Attributes{Visible: 1}, q2.Attributes(), "visible at once after the restart")
	})
	t.Run("a move to the dead-letter queue survives a crash", func(t *testing.T) {
		c := &clock{t: start}
		path := filepath.Join(t.TempDir(), "q.db")
		_, q, dlq := open(t, path, c)
		id, err := q.Send("poison")
		require.NoError(t, err)
		for i := 1; i <= 2; i++ {
			got, err := q.Receive(10, 0)
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.NoError(t, q.Fail(got[0].ReceiptHandle, fmt.Sprintf("failure %d", i)))
			c.add(31 * time.Second)
		}
		got, err := q.Receive(10, 0)
		require.NoError(t, err)
		require.Empty(t, got)
		require.Len(t, dlq.Messages(), 1)
		_, q2, dlq2 := open(t, crash(t, path), c)
		require.Empty(t, q2.Messages(), "moved, not copied")
		dead := dlq2.Messages()
		require.Len(t, dead, 1)
		require.Equal(t, id, dead[0].ID)
		require.Equal(t, "poison", dead[0].Body)
		require.Equal(t, 2, dead[0].ReceiveCount)
		require.Equal(t, "failure 2", dead[0].LastError)
		require.Equal(t, "q", dead[0].SourceQueue)
		require.True(t, c.now().Equal(dead[0].DeadLetteredAt), "got dead-lettered at %s want %s", dead[0].DeadLetteredAt, c.now())
	})
	t.Run("a file of the JSON format fails to open", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "q.db")
		db, err := bolt.Open(path, 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucket([]byte("q"))
			if err != nil {
				return err
			}
			return bk.Put([]byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte(`{"id":"x","body":"{}","seq":1}`))
		}))
		require.NoError(t, db.Close())
		_, err = queue.Open(queue.Options{Path: path, Logger: slog.New(slog.DiscardHandler)})
		require.ErrorIs(t, err, queue.ErrOldStoreFormat, "got %v want ErrOldStoreFormat", err)
	})
}

// TestVisibilityModel drives a queue with receives of varied visibility timeouts,
// deletes and clock steps, and checks it against a plain model: a receive hands out
// only messages that are visible and not deleted, and the counts agree.
func TestVisibilityModel(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
	b, err := queue.Open(queue.Options{Now: c.now, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer b.Close()
	q, err := b.CreateQueue(queue.Config{Name: "q"})
	require.NoError(t, err)
	visibleAt := map[string]time.Time{} // the model: live message -> when receivable
	rnd := rand.New(rand.NewPCG(1, 2))
	for step := range 2000 {
		switch rnd.IntN(4) {
		case 0:
			id, err := q.Send(fmt.Sprint(step))
			require.NoError(t, err)
			visibleAt[id] = time.Time{}
		case 1:
			vis := time.Duration(1+rnd.IntN(5)) * time.Second
			max := 1 + rnd.IntN(queue.MaxReceiveBatch)
			visible := 0
			for _, at := range visibleAt {
				if !at.After(c.now()) {
					visible++
				}
			}
			got, err := q.Receive(max, vis)
			require.NoError(t, err)
			require.Len(t, got, min(max, visible), "step %d: got %d messages want %d", step, len(got), min(max, visible))
			for _, r := range got {
				at, ok := visibleAt[r.ID]
				require.True(t, ok, "step %d: got deleted message %s", step, r.ID)
				require.False(t, at.After(c.now()), "step %d: got %s, hidden until %s", step, r.ID, at)
				visibleAt[r.ID] = c.now().Add(vis)
				if rnd.IntN(2) == 0 {
					require.NoError(t, q.Delete(r.ReceiptHandle))
					delete(visibleAt, r.ID)
				}
			}
		case 2:
			c.add(time.Duration(rnd.IntN(1500)) * time.Millisecond)
		case 3:
			var want queue.Attributes
			for _, at := range visibleAt {
				if at.After(c.now()) {
					want.NotVisible++
				} else {
					want.Visible++
				}
			}
			require.Equal(t, want, q.Attributes(), "step %d", step)
			require.Len(t, q.Messages(), len(visibleAt), "step %d", step)
		}
	}
}
