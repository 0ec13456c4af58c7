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
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/boltlog"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/pipe"
)

// enrichRecords is a real enrichment function of the shape a service deploys: it
// decodes the NewImage of each stream record into the bus envelope.
func enrichRecords(ctx context.Context, records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
	if _, ok := lambdacontext.FromContext(ctx); !ok {
		return nil, errors.New("no Lambda context")
	}
	out := make([]json.RawMessage, 0, len(records))
	for _, r := range records {
		if r.EventName != "INSERT" {
			return nil, fmt.Errorf("record %s: event %s, want INSERT", r.EventID, r.EventName)
		}
		img := r.Change.NewImage
		num := func(name string) int64 {
			v, err := img[name].Integer()
			if err != nil {
				panic(fmt.Sprintf("%s: %v", name, err)) // the pipe must survive a panicking enricher
			}
			return v
		}
		created, err := eventlog.ParseEpochSeconds(img[eventlog.AttrCreated].Number())
		if err != nil {
			return nil, err
		}
		d := envelope.Detail{
			Metadata: envelope.Metadata{
				EventID:          img[eventlog.AttrEventID].String(),
				AggregateID:      img[eventlog.AttrAggregateID].String(),
				AggregateVersion: num(eventlog.AttrVersion),
				EventType:        img[eventlog.AttrEventType].String(),
				SchemaVersion:    int(num(eventlog.AttrSchemaVersion)),
				OccurredAt:       created,
				CorrelationID:    img[eventlog.AttrCorrelationID].String(),
				CausationID:      img[eventlog.AttrCausationID].String(),
			},
			Data: json.RawMessage(img[eventlog.AttrData].String()),
		}
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

type fixture struct {
	dir  string
	log  *boltlog.Log
	bus  *bus.Bus
	seen *collector
}

// collector is a bus target that records every delivered event.
type collector struct {
	mu     sync.Mutex
	events []events.EventBridgeEvent
	byKey  map[string]int
	wake   chan struct{}
}

func newCollector() *collector {
	return &collector{byKey: map[string]int{}, wake: make(chan struct{}, 1)}
}

func (c *collector) target(_ context.Context, ev events.EventBridgeEvent) error {
	var d envelope.Detail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return err
	}
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.byKey[fmt.Sprintf("%s/%d", d.Metadata.AggregateID, d.Metadata.AggregateVersion)]++
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits until every key was delivered at least once.
func (c *collector) waitFor(t *testing.T, keys []string) {
	t.Helper()
	c.waitCount(t, keys, func(int) int { return 1 })
}

// waitCount waits until key i was delivered at least want(i) times: the bus delivers
// asynchronously and concurrently, so order on the target is not the put order.
func (c *collector) waitCount(t *testing.T, keys []string, want func(i int) int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		missing := 0
		for i, k := range keys {
			if c.byKey[k] < want(i) {
				missing++
			}
		}
		c.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-c.wake:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("got %d of %d events on the bus after 10s", len(keys)-missing, len(keys))
		}
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	log, err := boltlog.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = log.Close() })
	f := &fixture{dir: dir, log: log, seen: newCollector()}
	f.openBus(t)
	return f
}

func (f *fixture) openBus(t *testing.T) {
	t.Helper()
	b, err := bus.New(bus.Options{Name: "test", DataDir: filepath.Join(f.dir, "bus")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	require.NoError(t, b.Subscribe(subscription.Subscription{Name: "all", Pattern: json.RawMessage(`{"source":["concerts"]}`)}, f.seen.target))
	f.bus = b
}

// appendEvents appends n single-event appends to aggregate id, from version from+1.
func (f *fixture) appendEvents(t *testing.T, id string, from, n int) []string {
	t.Helper()
	var keys []string
	for v := from + 1; v <= from+n; v++ {
		typ := "TicketsSold"
		if v == 1 {
			typ = "ConcertScheduled"
		}
		require.NoError(t, f.log.Append(context.Background(), []eventlog.Event{{
			AggregateID: id, Version: int64(v), EventID: fmt.Sprintf("%s-e%d", id, v), EventType: typ,
			SchemaVersion: 1, OccurredAt: time.Now(), CorrelationID: "corr", CausationID: "cause",
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, v)),
		}}))
		keys = append(keys, fmt.Sprintf("%s/%d", id, v))
	}
	return keys
}

func (f *fixture) config(enrich service.EnrichmentHandler, cp pipe.Checkpoint) pipe.Config {
	return pipe.Config{
		Feed: f.log, Bus: f.bus, Source: "concerts", Checkpoint: cp,
		Enricher:   service.Enricher{Function: "enrich-events", Handler: enrich},
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}
}

func TestPipeDeliversEveryEventWithSourceAndDetailType(t *testing.T) {
	f := newFixture(t)
	var batches []int
	var mu sync.Mutex
	enrich := func(ctx context.Context, records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
		mu.Lock()
		batches = append(batches, len(records))
		mu.Unlock()
		return enrichRecords(ctx, records)
	}
	keys := f.appendEvents(t, "c1", 0, 25) // before the pipe starts: read from the start
	p, err := pipe.Start(f.config(enrich, pipe.NewFileCheckpoint(filepath.Join(f.dir, "cp"))))
	require.NoError(t, err)
	keys = append(keys, f.appendEvents(t, "c2", 0, 7)...) // while it runs
	f.seen.waitFor(t, keys)
	require.NoError(t, p.Sync(context.Background()))
	require.NoError(t, p.Close(context.Background()))

	f.seen.mu.Lock()
	defer f.seen.mu.Unlock()
	require.Len(t, f.seen.events, len(keys), "no failures: got duplicates or extra events")
	for _, ev := range f.seen.events {
		var d envelope.Detail
		require.NoError(t, json.Unmarshal(ev.Detail, &d))
		require.Equal(t, "concerts", ev.Source)
		require.Equal(t, d.Metadata.EventType, ev.DetailType, "detail-type: got %s, want metadata.eventType", ev.DetailType)
		require.Equal(t, fmt.Sprintf(`{"n":%d}`, d.Metadata.AggregateVersion), string(d.Data))
		require.Equal(t, fmt.Sprintf("%s-e%d", d.Metadata.AggregateID, d.Metadata.AggregateVersion), d.Metadata.EventID)
	}
	for _, n := range batches {
		require.LessOrEqual(t, n, pipe.MaxBatchSize, "batch of %d records", n)
	}
	require.Equal(t, uint64(len(keys)), p.Position())
}

func TestPipeRetriesFailingEnrichmentWithoutSkipping(t *testing.T) {
	tests := []struct {
		name string
		fail func(call int) error // non-nil: fail this call
	}{
		{"errors", func(call int) error {
			if call%3 != 2 {
				return errors.New("enricher unavailable")
			}
			return nil
		}},
		{"panics", func(call int) error {
			if call%2 == 0 {
				panic("enricher bug")
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var calls atomic.Int64
			enrich := func(ctx context.Context, records []events.DynamoDBEventRecord) ([]json.RawMessage, error) {
				if err := tt.fail(int(calls.Add(1))); err != nil {
					return nil, err
				}
				return enrichRecords(ctx, records)
			}
			keys := f.appendEvents(t, "c1", 0, 30)
			p, err := pipe.Start(f.config(enrich, nil))
			require.NoError(t, err)
			f.seen.waitFor(t, keys)
			require.NoError(t, p.Close(context.Background()))
			require.Greater(t, calls.Load(), int64(3), "the failures were never exercised")
			f.seen.mu.Lock()
			defer f.seen.mu.Unlock()
			for _, k := range keys {
				require.Equal(t, 1, f.seen.byKey[k], "event %s: got %d deliveries, want 1 (failed batches never reach the bus)", k, f.seen.byKey[k])
			}
		})
	}
}

// flakyCheckpoint fails some saves, like a full disk would.
type flakyCheckpoint struct {
	pipe.Checkpoint
	saves atomic.Int64
}

func (c *flakyCheckpoint) Save(pos uint64) error {
	if c.saves.Add(1)%2 == 1 {
		return errors.New("disk full")
	}
	return c.Checkpoint.Save(pos)
}

func TestPipeSurvivesCheckpointFailuresAndRedeliversAfterRestart(t *testing.T) {
	f := newFixture(t)
	store := &pipe.MemoryCheckpoint{}
	cp := &flakyCheckpoint{Checkpoint: store}
	cfg := f.config(enrichRecords, cp)
	cfg.CheckpointInterval = -1 // save after every batch: many failures
	cfg.BatchSize = 3
	keys := f.appendEvents(t, "c1", 0, 20)
	p, err := pipe.Start(cfg)
	require.NoError(t, err)
	f.seen.waitFor(t, keys)
	require.NoError(t, p.Sync(context.Background()))
	require.NoError(t, p.Close(context.Background()))
	require.Greater(t, cp.saves.Load(), int64(2), "the failing saves were never exercised")
	f.seen.mu.Lock()
	for _, k := range keys {
		require.Equal(t, 1, f.seen.byKey[k], "event %s: a failed checkpoint save must not redeliver in-process", k)
	}
	f.seen.mu.Unlock()

	// A "crash" that lost the last saves: the checkpoint is behind the bus. A new pipe
	// starts from it and redelivers the gap: duplicates, never a skipped event.
	require.NoError(t, store.Save(5))
	more := f.appendEvents(t, "c1", 20, 4)
	p, err = pipe.Start(f.config(enrichRecords, store))
	require.NoError(t, err)
	all := append(keys, more...)
	want := func(i int) int {
		if i >= 5 && i < 20 {
			return 2
		}
		return 1
	}
	f.seen.waitCount(t, all, want)
	require.NoError(t, p.Sync(context.Background()))
	require.NoError(t, p.Close(context.Background()))
	f.seen.mu.Lock()
	defer f.seen.mu.Unlock()
	for i, k := range all {
		want := want(i)
		require.Equal(t, want, f.seen.byKey[k], "event %s: got %d deliveries, want %d", k, f.seen.byKey[k], want)
	}
}

func TestPipeResumesFromCheckpointAfterRestart(t *testing.T) {
	f := newFixture(t)
	cpPath := filepath.Join(f.dir, "pipe.checkpoint")
	first := f.appendEvents(t, "c1", 0, 12)
	p, err := pipe.Start(f.config(enrichRecords, pipe.NewFileCheckpoint(cpPath)))
	require.NoError(t, err)
	f.seen.waitFor(t, first)
	require.NoError(t, p.Sync(context.Background()))
	require.NoError(t, p.Close(context.Background()))

	// Written while no pipe runs, then a new pipe on the same checkpoint.
	second := f.appendEvents(t, "c1", 12, 9)
	p, err = pipe.Start(f.config(enrichRecords, pipe.NewFileCheckpoint(cpPath)))
	require.NoError(t, err)
	f.seen.waitFor(t, second)
	require.NoError(t, p.Sync(context.Background()))
	require.NoError(t, p.Close(context.Background()))

	f.seen.mu.Lock()
	defer f.seen.mu.Unlock()
	for _, k := range append(first, second...) {
		require.Equal(t, 1, f.seen.byKey[k], "event %s: got %d deliveries across a clean restart, want 1", k, f.seen.byKey[k])
	}
}

func TestPipeCloseWithDeadlineKeepsUndeliveredBatch(t *testing.T) {
	f := newFixture(t)
	cpPath := filepath.Join(f.dir, "pipe.checkpoint")
	// The bus is closed: every Put fails, so nothing may be checkpointed.
	require.NoError(t, f.bus.Close(context.Background()))
	keys := f.appendEvents(t, "c1", 0, 5)
	p, err := pipe.Start(f.config(enrichRecords, pipe.NewFileCheckpoint(cpPath)))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.Error(t, p.Close(ctx), "drain cannot finish while the bus refuses events")
	got, err := pipe.NewFileCheckpoint(cpPath).Load()
	require.NoError(t, err)
	require.Zero(t, got, "checkpoint advanced to %d although nothing reached the bus", got)

	// After the "restart" with a working bus, everything arrives.
	f.seen = newCollector()
	f.openBus(t)
	p, err = pipe.Start(f.config(enrichRecords, pipe.NewFileCheckpoint(cpPath)))
	require.NoError(t, err)
	f.seen.waitFor(t, keys)
	require.NoError(t, p.Close(context.Background()))
}

func TestStartRejectsBadConfig(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		mutate func(*pipe.Config)
	}{
		{"no feed", func(c *pipe.Config) { c.Feed = nil }},
		{"no bus", func(c *pipe.Config) { c.Bus = nil }},
		{"no enricher", func(c *pipe.Config) { c.Enricher.Handler = nil }},
		{"no source", func(c *pipe.Config) { c.Source = "" }},
		{"batch too large", func(c *pipe.Config) { c.BatchSize = 11 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config(enrichRecords, nil)
			tt.mutate(&cfg)
			_, err := pipe.Start(cfg)
			require.Error(t, err)
		})
	}
}
