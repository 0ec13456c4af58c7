// Package pipe emulates the EventBridge Pipe from a service's DynamoDB event log to
// the bus: it tails an eventlog.Feed (what the table's stream is on AWS) from a
// durable checkpoint, hands batches of INSERT stream records to the service's
// enrichment function through the Lambda JSON invoke path, and puts the enriched
// details on the bus with the service as source and metadata.eventType as
// detail-type, as the deployed Pipe's target parameters do.
//
// Delivery is at least once and never skips: the checkpoint advances only after the
// bus accepted every entry of a batch, failures are retried with backoff for as long
// as the pipe runs (a DynamoDB stream source blocks on a failing batch too), and a
// restarted pipe resumes after its checkpoint. Under load the checkpoint is saved at
// most every CheckpointInterval rather than after every batch (each save is two
// fsyncs); a crash then redelivers at most that window, which at-least-once allows.
package pipe

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/concertsys/platform/backoff"
	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/faults"
	"github.com/concertsys/tools/local/lambdainvoke"
)

// MaxBatchSize is the most records one enrichment invocation gets: also the most
// entries one PutEvents call takes.
const MaxBatchSize = 10

// invokeTimeout plays the enrichment Lambda's timeout.
const invokeTimeout = 30 * time.Second

// Bus is where the pipe puts enriched events (tools/local/bus's Bus).
type Bus interface {
	Put(ctx context.Context, entries []bus.Entry) ([]bus.PutResult, error)
}

// Config describes one pipe.
type Config struct {
	// Name of the pipe, for logs and ARNs, e.g. "concerts-events".
	Name string
	// Feed is the source: the event log's change feed.
	Feed eventlog.Feed
	// Enricher is the service's enrichment function.
	Enricher service.Enricher
	// Bus receives the enriched events.
	Bus Bus
	// Source is the EventBridge source of the events: the producing service's name.
	Source string
	// Checkpoint keeps the position; nil means in memory.
	Checkpoint Checkpoint
	// Region, Account and Table name the stream in record ARNs.
	Region, Account, Table string
	// BatchSize is 1..MaxBatchSize records per invocation; 0 means MaxBatchSize.
	BatchSize int
	// MinBackoff and MaxBackoff bound the wait between retries (defaults 50ms, 5s).
	MinBackoff, MaxBackoff time.Duration
	// CheckpointInterval bounds how often the checkpoint is saved while the feed has
	// a backlog; it is always saved when the pipe catches up and on Close. Default
	// 100ms; negative saves after every batch.
	CheckpointInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Faults fails some enrichment invocations (devstack -faults); nil: none.
	Faults *faults.Injector
}

// Pipe is a running pipe. Start it with Start and stop it with Close.
type Pipe struct {
	cfg       Config
	enricher  *lambdainvoke.Function
	sourceARN string
	log       *slog.Logger

	cancel   context.CancelFunc
	draining chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	mu       sync.Mutex
	pos      uint64        // every event up to here is on the bus
	progress chan struct{} // closed and replaced whenever pos advances

	// Owned by the run goroutine.
	saved   uint64 // the checkpoint's value
	savedAt time.Time
}

// Start loads the checkpoint and starts delivering in the background.
func Start(cfg Config) (*Pipe, error) {
	if cfg.Feed == nil || cfg.Bus == nil || cfg.Enricher.Handler == nil {
		return nil, errors.New("pipe: feed, bus and enricher handler are required")
	}
	if cfg.Source == "" {
		return nil, errors.New("pipe: source is required")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = MaxBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxBatchSize {
		return nil, fmt.Errorf("pipe: batch size %d, want 1..%d", cfg.BatchSize, MaxBatchSize)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	if cfg.Checkpoint == nil {
		cfg.Checkpoint = &MemoryCheckpoint{}
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Source + "-events"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.Table == "" {
		cfg.Table = cfg.Name
	}
	pos, err := cfg.Checkpoint.Load()
	if err != nil {
		return nil, fmt.Errorf("pipe %s: %w", cfg.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipe{
		cfg: cfg,
		enricher: lambdainvoke.New(cfg.Enricher.Function,
			lambdainvoke.ARN(cfg.Region, cfg.Account, cfg.Source+"-"+cfg.Enricher.Function), cfg.Enricher.Handler, invokeTimeout).WithFaults(cfg.Faults),
		sourceARN: StreamARN(cfg.Region, cfg.Account, cfg.Table),
		log:       cfg.Logger.With("pipe", cfg.Name),
		cancel:    cancel,
		draining:  make(chan struct{}),
		done:      make(chan struct{}),
		pos:       pos,
		progress:  make(chan struct{}),
		saved:     pos,
		savedAt:   time.Now(),
	}
	p.log.Info("pipe started", "checkpoint", pos)
	go p.run(ctx)
	return p, nil
}

// Position is the feed position up to which every event is on the bus.
func (p *Pipe) Position() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos
}

// Sync waits until every event committed to the feed before the call is on the bus.
func (p *Pipe) Sync(ctx context.Context) error {
	for {
		p.mu.Lock()
		pos, progress := p.pos, p.progress
		p.mu.Unlock()
		next, err := p.cfg.Feed.ReadFeed(ctx, pos, 1)
		if err != nil {
			return fmt.Errorf("pipe %s sync: %w", p.cfg.Name, err)
		}
		if len(next) == 0 {
			return nil
		}
		select {
		case <-progress:
		case <-p.done:
			return fmt.Errorf("pipe %s sync: pipe stopped at position %d", p.cfg.Name, pos)
		case <-ctx.Done():
			return fmt.Errorf("pipe %s sync at position %d: %w", p.cfg.Name, pos, ctx.Err())
		}
	}
}

// Close delivers what the feed holds, then stops. When ctx ends first, the batch in
// flight is abandoned without advancing the checkpoint (it is redelivered on the
// next start) and Close returns ctx's error.
func (p *Pipe) Close(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.draining) })
	select {
	case <-p.done:
		p.cancel()
		return nil
	case <-ctx.Done():
		p.cancel()
		<-p.done
		return fmt.Errorf("pipe %s: drain stopped at position %d: %w", p.cfg.Name, p.Position(), ctx.Err())
	}
}

func (p *Pipe) run(ctx context.Context) {
	defer close(p.done)
	defer p.saveCheckpoint() // what is on the bus when the pipe stops
	failures := 0
	for {
		changed := p.cfg.Feed.Changed() // before reading, so no commit goes unnoticed
		pos := p.Position()
		entries, err := p.cfg.Feed.ReadFeed(ctx, pos, p.cfg.BatchSize)
		if err == nil && len(entries) > 0 {
			err = p.deliver(ctx, entries)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			delay := p.retry().Delay(failures)
			p.log.Error("pipe batch failed, retrying", "after", pos, "backoff", delay, "err", err)
			if backoff.Sleep(ctx, delay) != nil {
				return
			}
			continue
		}
		failures = 0
		if len(entries) > 0 {
			if time.Since(p.savedAt) >= p.cfg.CheckpointInterval {
				p.saveCheckpoint()
			}
			continue
		}
		p.saveCheckpoint() // caught up
		select {
		case <-changed:
		case <-p.draining:
			return
		case <-ctx.Done():
			return
		}
	}
}

// saveCheckpoint records the delivered position. A failed save is logged and tried
// again later: the position in memory stays right, and after a crash the pipe
// redelivers from the older checkpoint.
func (p *Pipe) saveCheckpoint() {
	pos := p.Position()
	if pos == p.saved {
		return
	}
	if err := p.cfg.Checkpoint.Save(pos); err != nil {
		p.log.Error("pipe checkpoint not saved", "position", pos, "saved", p.saved, "err", err)
		return
	}
	p.saved, p.savedAt = pos, time.Now()
}

// deliver enriches and puts one batch, then advances the position. Entries the bus
// rejects are retried alone so accepted ones are not duplicated needlessly.
func (p *Pipe) deliver(ctx context.Context, batch []eventlog.FeedEntry) error {
	details, err := p.enrich(ctx, batch)
	if err != nil {
		return err
	}
	pending := make([]bus.Entry, 0, len(details))
	now := time.Now().UTC()
	for i, d := range details {
		var head struct {
			Metadata struct {
				EventType string `json:"eventType"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(d, &head); err != nil || head.Metadata.EventType == "" {
			return fmt.Errorf("enriched detail %d has no metadata.eventType (err %v)", i, err)
		}
		pending = append(pending, bus.Entry{
			Source:     p.cfg.Source,
			DetailType: head.Metadata.EventType,
			Detail:     d,
			Time:       now,
		})
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		results, err := p.cfg.Bus.Put(ctx, pending)
		if err == nil {
			pending, err = failedEntries(pending, results)
		}
		if err != nil || len(pending) > 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.log.Warn("bus put failed, retrying", "entries", len(pending), "err", err)
			if err := backoff.Sleep(ctx, p.retry().Delay(attempt)); err != nil {
				return err
			}
		}
	}
	last := batch[len(batch)-1].Position
	p.mu.Lock()
	p.pos = last
	close(p.progress)
	p.progress = make(chan struct{})
	p.mu.Unlock()
	p.log.Debug("pipe batch delivered", "records", len(batch), "events", len(details), "position", last)
	return nil
}

// failedEntries keeps the entries the bus did not accept.
func failedEntries(sent []bus.Entry, results []bus.PutResult) ([]bus.Entry, error) {
	if len(results) != len(sent) {
		return sent, fmt.Errorf("bus returned %d results for %d entries", len(results), len(sent))
	}
	var failed []bus.Entry
	var firstErr error
	for i, r := range results {
		if r.ErrorCode != "" {
			failed = append(failed, sent[i])
			if firstErr == nil {
				firstErr = fmt.Errorf("entry %d: %s: %s", i, r.ErrorCode, r.ErrorMessage)
			}
		}
	}
	return failed, firstErr
}

// enrich invokes the enrichment function as Lambda would: JSON in, JSON out.
func (p *Pipe) enrich(ctx context.Context, batch []eventlog.FeedEntry) (details []json.RawMessage, err error) {
	records := make([]any, len(batch))
	for i, fe := range batch {
		records[i] = StreamRecord(p.cfg.Region, p.sourceARN, fe)
	}
	payload, err := json.Marshal(records)
	if err != nil {
		return nil, fmt.Errorf("marshal stream records: %w", err)
	}
	out, err := p.enricher.Invoke(ctx, rand.Text(), payload)
	if err != nil {
		return nil, fmt.Errorf("enrichment %s: %w", p.cfg.Enricher.Function, err)
	}
	if err := json.Unmarshal(out, &details); err != nil {
		return nil, fmt.Errorf("enrichment %s returned %q, want a JSON array: %w", p.cfg.Enricher.Function, truncate(out), err)
	}
	return details, nil
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// retry is the wait between retries of a failed batch or put: from MinBackoff doubling
// to MaxBackoff, each wait uniform in [d/2, d].
func (p *Pipe) retry() backoff.Policy {
	return backoff.Policy{Base: p.cfg.MinBackoff, Max: p.cfg.MaxBackoff, Jitter: backoff.Equal}
}
