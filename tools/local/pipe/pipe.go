// Package pipe emulates the EventBridge Pipe from a service's DynamoDB event log to
// the bus: it tails an eventlog.Feed (what the table's stream is on AWS) from a
// durable checkpoint, hands batches of INSERT stream records to the service's
// enrichment function through the Lambda JSON invoke path, and puts the enriched
// details on the bus with the service as source and metadata.eventType as
// detail-type, as the deployed Pipe's target parameters do.
//
// Delivery is at least once, and failures follow EventBridge Pipes for a DynamoDB
// stream source: a batch whose enrichment fails (or whose entries the bus refuses for
// good) is retried up to MaxRetryAttempts times, then its stream coordinates go to the
// dead-letter store and the pipe moves on (the checkpoint advances); with no limit it
// is retried for as long as the pipe runs, blocking the stream as AWS's default (-1)
// does. Entries the bus fails transiently (InternalFailure, ThrottlingException in a
// PutEvents answer) are retried without counting, as Pipes retries internal and
// retryable AWS errors, and only the records behind them go through the pipe again,
// enrichment included (Pipes' partial batch failure handling of a batching target;
// partial failure of the enrichment is not supported, a failing enrichment fails the
// whole batch). A restarted pipe resumes after its checkpoint. The checkpoint is saved at
// most every CheckpointInterval rather than after every batch (each save is two
// fsyncs), and when the pipe is idle; a crash then redelivers at most that window,
// which at-least-once allows.
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
	// CheckpointInterval bounds how often the checkpoint is saved; a pipe that caught
	// up saves it once the interval since the last save is over, and on Close.
	// Default 100ms; negative saves after every batch.
	CheckpointInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Faults fails some enrichment invocations (devstack -faults); nil: none.
	Faults *faults.Injector
	// MaxRetryAttempts is the source's MaximumRetryAttempts: how often a failing
	// batch is retried before its coordinates go to DeadLetters. Zero or negative:
	// forever (AWS's default, -1). platform/service.PipeMaxRetryAttempts is what the
	// deployed pipe and devstack use.
	MaxRetryAttempts int
	// DeadLetters keeps dead-lettered batches; nil keeps them in memory.
	DeadLetters DeadLetterStore
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
	if cfg.DeadLetters == nil {
		cfg.DeadLetters = &MemoryDeadLetters{}
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
		// Caught up: save now, or when the interval since the last save is over if
		// nothing else arrives first, so a steady trickle of small batches does not
		// cost two fsyncs each.
		var saveLater *time.Timer
		if wait := p.cfg.CheckpointInterval - time.Since(p.savedAt); wait <= 0 {
			p.saveCheckpoint()
		} else if p.Position() != p.saved {
			saveLater = time.NewTimer(wait)
		}
		if !p.idle(ctx, changed, saveLater) {
			return
		}
	}
}

// idle waits for the feed to change, saving the checkpoint when saveLater (nil: none)
// fires meanwhile; false when the pipe is to stop.
func (p *Pipe) idle(ctx context.Context, changed <-chan struct{}, saveLater *time.Timer) bool {
	var fire <-chan time.Time
	if saveLater != nil {
		defer saveLater.Stop()
		fire = saveLater.C
	}
	for {
		select {
		case <-changed:
			return true
		case <-fire:
			p.saveCheckpoint()
			fire = nil
		case <-p.draining:
			return false
		case <-ctx.Done():
			return false
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

// deliver puts one batch through the pipe (deliverBatch), then advances the position:
// the batch is on the bus or in the dead-letter store.
func (p *Pipe) deliver(ctx context.Context, batch []eventlog.FeedEntry) error {
	dead, err := p.deliverBatch(ctx, batch, true)
	if err != nil {
		return err
	}
	last := batch[len(batch)-1].Position
	p.mu.Lock()
	p.pos = last
	close(p.progress)
	p.progress = make(chan struct{})
	p.mu.Unlock()
	p.log.Debug("pipe batch done", "records", len(batch), "position", last, "deadLettered", dead)
	return nil
}

// transientEntryError lists the PutEvents entry error codes of a retryable AWS
// failure: Pipes retries them without counting against MaximumRetryAttempts.
var transientEntryError = map[string]bool{"InternalFailure": true, "ThrottlingException": true}

// deliverBatch enriches and puts batch until every record is on the bus. Failures
// the customer's code or configuration cause (the enrichment failing, entries refused
// for good) count against MaxRetryAttempts; past it, a live batch is dead-lettered
// (true) and a redriven one (live false) fails. Only ctx ending returns early.
func (p *Pipe) deliverBatch(ctx context.Context, batch []eventlog.FeedEntry, live bool) (bool, error) {
	remaining := batch
	retries := 0
	backoffN := 0 // failed attempts in a row without progress: the backoff grows with it
	for attempt := 1; ; attempt++ {
		failed, counted, err := p.attempt(ctx, remaining)
		if err == nil {
			return false, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if counted {
			retries++
		}
		if counted && p.cfg.MaxRetryAttempts > 0 && retries > p.cfg.MaxRetryAttempts {
			if !live {
				return false, fmt.Errorf("batch still failing after %d retries: %w", p.cfg.MaxRetryAttempts, err)
			}
			dl := p.newDeadLetter(remaining, attempt, err)
			derr := p.cfg.DeadLetters.Add(dl)
			if derr == nil {
				p.log.Error("pipe batch dead-lettered after its retries; the checkpoint moves on", "deadLetter", dl.ID,
					"firstSequenceNumber", dl.BatchInfo.StartSequenceNumber, "lastSequenceNumber", dl.BatchInfo.EndSequenceNumber,
					"records", len(remaining), "attempts", attempt, "err", err)
				return true, nil
			}
			p.log.Error("pipe batch cannot be dead-lettered; retrying", "err", derr)
		}
		backoffN++
		if len(failed) < len(remaining) {
			backoffN = 1 // some records got through: retry the rest soon
		}
		remaining = failed
		delay := p.retry().Delay(backoffN)
		p.log.Warn("pipe batch failed, retrying", "records", len(remaining), "retries", retries, "counted", counted, "backoff", delay, "err", err)
		if err := backoff.Sleep(ctx, delay); err != nil {
			return false, err
		}
	}
}

// attempt enriches records and puts the results on the bus once. It returns the
// records to go through the pipe again, whether the failure counts as a retry, and
// why; a nil error means all were put.
func (p *Pipe) attempt(ctx context.Context, records []eventlog.FeedEntry) ([]eventlog.FeedEntry, bool, error) {
	details, err := p.enrich(ctx, records)
	if err != nil {
		return records, true, err // the customer's enrichment failed: the whole batch
	}
	entries := make([]bus.Entry, 0, len(details))
	now := time.Now().UTC()
	for i, d := range details {
		var head struct {
			Metadata struct {
				EventType string `json:"eventType"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(d, &head); err != nil || head.Metadata.EventType == "" {
			return records, true, fmt.Errorf("enriched detail %d has no metadata.eventType (err %v)", i, err)
		}
		entries = append(entries, bus.Entry{
			Source:     p.cfg.Source,
			DetailType: head.Metadata.EventType,
			Detail:     d,
			Time:       now,
		})
	}
	if len(entries) == 0 {
		return nil, false, nil
	}
	results, err := p.cfg.Bus.Put(ctx, entries)
	if err != nil {
		return records, false, fmt.Errorf("put on the bus: %w", err) // the target service failed: not counted
	}
	if len(results) != len(entries) {
		return records, false, fmt.Errorf("bus returned %d results for %d entries", len(results), len(entries))
	}
	var failed []eventlog.FeedEntry
	counted := false
	var errs []error
	for i, r := range results {
		if !r.Failed() {
			continue
		}
		counted = counted || !transientEntryError[r.ErrorCode]
		errs = append(errs, fmt.Errorf("entry %d: %s: %s", i, r.ErrorCode, r.ErrorMessage))
		if len(details) == len(records) {
			failed = append(failed, records[i])
		}
	}
	if len(errs) == 0 {
		return nil, false, nil
	}
	if len(details) != len(records) {
		failed = records // entries do not map to records one to one: all again
	}
	return failed, counted, errors.Join(errs...)
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
