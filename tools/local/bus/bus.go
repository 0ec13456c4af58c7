// Package bus is a local EventBridge-compatible event bus: rules declared in Go
// (Subscription), targets that take the aws-lambda-go EventBridgeEvent, asynchronous
// at-least-once delivery with retries, exponential backoff and a dead-letter store,
// optional durability in a bbolt file, a live tail of every event, and EventBridge's
// archives and replays (archive.go).
//
// Like EventBridge it is unordered and at-least-once: a target may see an event more
// than once (after a failure, a crash or a redrive) and in any order.
package bus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/faults"
)

// Limits EventBridge enforces on PutEvents, enforced here too so code that works
// locally also works on AWS.
const (
	// MaxEntriesPerPut is the most entries one Put (PutEvents request) may carry.
	MaxEntriesPerPut = 10
	// MaxEntriesSize bounds the summed entry sizes (EntrySize) of one Put. EventBridge
	// raised it from 256 KB to 1 MB on 2026-01-29.
	MaxEntriesSize = 1 << 20
	// MaxSourceLen and MaxDetailTypeLen are the PutEventsRequestEntry length constraints.
	MaxSourceLen     = 256
	MaxDetailTypeLen = 128
	// MaxResources and MaxResourceLen bound an entry's Resources.
	MaxResources   = 100
	MaxResourceLen = 2048
)

// Per-entry error codes, as EventBridge's PutEventsResultEntry.ErrorCode documents them.
const (
	ErrorCodeInvalidArgument  = "InvalidArgument"
	ErrorCodeMalformedDetail  = "MalformedDetail"
	ErrorCodeNotAuthorizedSrc = "NotAuthorizedForSourceException"
	ErrorCodeResourceNotFound = "ResourceNotFoundException"
)

// Defaults of Options; the retry delays suit local development (a fixed consumer
// catches up within seconds), not EventBridge's 24-hour schedule.
const (
	defaultWorkersPerRule   = 4
	defaultRetryBaseDelay   = 200 * time.Millisecond
	defaultRetryMaxDelay    = time.Minute
	defaultDeliveryTimeout  = 5 * time.Minute
	defaultTailBuffer       = 256
	defaultReplayStartDelay = 100 * time.Millisecond
	// DefaultMaxTails is Options.MaxTails's default: room for a few developers'
	// terminals and load generators, not for an unbounded number of idle streams.
	DefaultMaxTails = 32
	// DefaultDeadLetterRetention is Options.DeadLetterRetention's default: 14 days,
	// the longest message retention period of an SQS queue (an EventBridge target's
	// dead-letter queue on AWS).
	DefaultDeadLetterRetention = 14 * 24 * time.Hour
	dataFileName               = "bus.db"
	defaultAccount             = "000000000000"
	defaultRegion              = "us-east-1"
	defaultBusName             = "default"
)

// Errors callers can test with errors.Is.
var (
	ErrClosed            = errors.New("bus is closed")
	ErrTooManyTails      = errors.New("too many tails open")
	ErrTooManyEntries    = fmt.Errorf("a put carries at most %d entries", MaxEntriesPerPut)
	ErrNoEntries         = errors.New("a put carries at least one entry")
	ErrEntriesTooLarge   = errors.New("total size of the entries in the request is over the limit")
	ErrDuplicateRule     = errors.New("rule already subscribed")
	ErrInvalidRule       = errors.New("invalid subscription")
	ErrDeadLetterMissing = errors.New("dead letter not found")
)

// Options configure a Bus. Only Name, Account, Region, DataDir and Logger are part of
// the cross-team contract; the rest are tuning knobs with sensible defaults.
type Options struct {
	Name    string // bus name ("default" if empty)
	Account string // 12-digit account put into every event ("000000000000" if empty)
	Region  string // region put into every event ("us-east-1" if empty)
	// DataDir holds the bbolt file (bus.db) with pending deliveries and dead letters.
	// Empty keeps everything in memory (lost on Close).
	DataDir string
	Logger  *slog.Logger

	// WorkersPerRule bounds concurrent deliveries to one rule's target (default 4).
	WorkersPerRule int
	// RetryBaseDelay and RetryMaxDelay shape the backoff after a failed delivery:
	// base*2^(attempt-1), capped at max, with equal jitter (defaults 200ms and 1m).
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// DeliveryTimeout bounds one target invocation, like a Lambda timeout (default 5m).
	DeliveryTimeout time.Duration
	// TailBuffer is the channel size of each Tail; a full tail drops (default 256).
	TailBuffer int
	// MaxTails bounds the tails open at once (default DefaultMaxTails); Tail fails
	// with ErrTooManyTails beyond it. Each tail holds a TailBuffer of events, so an
	// unbounded number of idle tails grows memory without limit.
	MaxTails int
	// DeadLetterRetention is how long a dead letter is kept before it is deleted
	// (default DefaultDeadLetterRetention, SQS's longest message retention period).
	DeadLetterRetention time.Duration
	// Now is the clock (time.Now if nil); tests inject one to age events.
	Now func() time.Time
	// MaxReplays bounds the replays running at once (default DefaultMaxReplays);
	// StartReplay fails with ErrTooManyReplays beyond it.
	MaxReplays int
	// ReplayStartDelay is how long a replay stays STARTING before it runs (default
	// 100ms; EventBridge takes about a minute), so callers can observe the state.
	ReplayStartDelay time.Duration
	// Faults answers some entries of Put as failed and hands some matched events to
	// their rule twice or late (devstack -faults); nil injects nothing.
	Faults *faults.Injector
}

// Entry is one event to put on the bus, the PutEventsRequestEntry of the EventBridge API.
type Entry struct {
	Source     string
	DetailType string
	Detail     json.RawMessage
	Resources  []string
	Time       time.Time // zero means the time the bus receives the entry
}

// PutResult is the outcome of one Entry, in the order of the entries: EventID when it
// was accepted, else ErrorCode and ErrorMessage.
type PutResult struct {
	EventID      string
	ErrorCode    string
	ErrorMessage string
}

// Failed reports whether the entry was rejected.
func (r PutResult) Failed() bool { return r.ErrorCode != "" }

// Stats are counters since New, for observability and benchmarks.
type Stats struct {
	Accepted     uint64 `json:"accepted"`     // events accepted by Put
	Rejected     uint64 `json:"rejected"`     // entries rejected by Put
	Delivered    uint64 `json:"delivered"`    // successful target invocations
	Failed       uint64 `json:"failed"`       // failed target invocations (errors, panics, timeouts)
	DeadLettered uint64 `json:"deadLettered"` // deliveries moved to the dead-letter store
	TailDropped  uint64 `json:"tailDropped"`  // events a slow Tail reader missed
}

// Bus routes events to subscribed targets. It is safe for concurrent use.
type Bus struct {
	opts  Options
	log   *slog.Logger
	store store
	now   func() time.Time

	// mu guards rules and closed. Put holds it for reading from matching until the
	// deliveries are queued, so Subscribe (which loads pending deliveries under the
	// write lock) never misses or doubles a delivery, and Close waits for Puts.
	mu     sync.RWMutex
	rules  map[string]*rule
	closed bool

	tailMu sync.RWMutex
	tails  map[*tail]struct{}

	// sources are other dead-letter stores listed and redriven with the bus's own
	// (devstack's queue dead-letter queues); guarded by mu.
	sources []DeadLetterSource

	// archMu guards archives; it is taken after mu, never before.
	archMu   sync.Mutex
	arch     archiveStore
	archives map[string]*archive
	// replayMu guards replays and replaysStopped; stopReplays closes on Close.
	replayMu       sync.Mutex
	replays        map[string]*Replay
	replaysStopped bool
	stopReplays    chan struct{}

	// base is the parent context of every delivery; cancel aborts them when Close's
	// deadline passes.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	accepted, rejected, delivered, failed, deadLettered, tailDropped atomic.Uint64

	observer Observer // see Observe
}

// New opens a bus. With DataDir set it opens (or creates) DataDir/bus.db; deliveries
// left pending by a previous process resume as soon as their rule is subscribed again.
func New(opts Options) (*Bus, error) {
	opts.Name = cmp.Or(opts.Name, defaultBusName)
	opts.Account = cmp.Or(opts.Account, defaultAccount)
	opts.Region = cmp.Or(opts.Region, defaultRegion)
	opts.WorkersPerRule = positiveOr(opts.WorkersPerRule, defaultWorkersPerRule)
	opts.RetryBaseDelay = positiveOr(opts.RetryBaseDelay, defaultRetryBaseDelay)
	opts.RetryMaxDelay = positiveOr(opts.RetryMaxDelay, defaultRetryMaxDelay)
	opts.RetryMaxDelay = max(opts.RetryMaxDelay, opts.RetryBaseDelay)
	opts.DeliveryTimeout = positiveOr(opts.DeliveryTimeout, defaultDeliveryTimeout)
	opts.TailBuffer = positiveOr(opts.TailBuffer, defaultTailBuffer)
	opts.MaxTails = positiveOr(opts.MaxTails, DefaultMaxTails)
	opts.ReplayStartDelay = positiveOr(opts.ReplayStartDelay, defaultReplayStartDelay)
	opts.MaxReplays = positiveOr(opts.MaxReplays, DefaultMaxReplays)
	opts.DeadLetterRetention = positiveOr(opts.DeadLetterRetention, DefaultDeadLetterRetention)
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var st store
	var as archiveStore
	if opts.DataDir == "" {
		ms := newMemStore()
		st, as = ms, ms
	} else {
		bs, err := openBoltStore(filepath.Join(opts.DataDir, dataFileName))
		if err != nil {
			return nil, fmt.Errorf("open bus store in %s: %w", opts.DataDir, err)
		}
		st, as = bs, bs
	}
	base, cancel := context.WithCancel(context.Background())
	b := &Bus{
		opts:        opts,
		log:         logger.With("bus", opts.Name),
		store:       st,
		arch:        as,
		archives:    make(map[string]*archive),
		replays:     make(map[string]*Replay),
		stopReplays: make(chan struct{}),
		now:         now,
		rules:       make(map[string]*rule),
		tails:       make(map[*tail]struct{}),
		base:        base,
		cancel:      cancel,
	}
	if err := b.loadArchives(); err != nil {
		cancel()
		_ = st.close()
		return nil, fmt.Errorf("load archives: %w", err)
	}
	return b, nil
}

// Name is the bus name events are put on.
func (b *Bus) Name() string { return b.opts.Name }

// ARN is the bus ARN as EventBridge would spell it.
func (b *Bus) ARN() string {
	return fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", b.opts.Region, b.opts.Account, b.opts.Name)
}

// Stats returns the counters.
func (b *Bus) Stats() Stats {
	return Stats{
		Accepted:     b.accepted.Load(),
		Rejected:     b.rejected.Load(),
		Delivered:    b.delivered.Load(),
		Failed:       b.failed.Load(),
		DeadLettered: b.deadLettered.Load(),
		TailDropped:  b.tailDropped.Load(),
	}
}

// EntrySize is the size EventBridge charges an entry against the request limit:
// 14 bytes for a set Time plus the UTF-8 bytes of Source, DetailType, Detail and each
// resource.
func EntrySize(e Entry) int {
	n := len(e.Source) + len(e.DetailType) + len(e.Detail)
	if !e.Time.IsZero() {
		n += 14
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// ValidateEntry returns the per-entry error code and message EventBridge gives an
// invalid entry, or "" when the entry is acceptable.
func ValidateEntry(e Entry) (code, message string) {
	if code, message := validateFields(e); code != "" {
		return code, message
	}
	if !isJSONObject(e.Detail) {
		return ErrorCodeMalformedDetail, malformedDetail
	}
	return "", ""
}

const malformedDetail = "Detail is malformed."

// validateFields is ValidateEntry but for the detail's JSON, which Put checks while
// encoding the event.
func validateFields(e Entry) (code, message string) {
	switch {
	case e.Source == "":
		return ErrorCodeInvalidArgument, "Parameter Source is not valid. Reason: Source is a required argument."
	case e.DetailType == "":
		return ErrorCodeInvalidArgument, "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case len(e.Detail) == 0:
		return ErrorCodeInvalidArgument, "Parameter Detail is not valid. Reason: Detail is a required argument."
	case utf8.RuneCountInString(e.Source) > MaxSourceLen:
		return ErrorCodeInvalidArgument, fmt.Sprintf("Parameter Source is not valid. Reason: Source is longer than %d characters.", MaxSourceLen)
	case utf8.RuneCountInString(e.DetailType) > MaxDetailTypeLen:
		return ErrorCodeInvalidArgument, fmt.Sprintf("Parameter DetailType is not valid. Reason: DetailType is longer than %d characters.", MaxDetailTypeLen)
	case len(e.Resources) > MaxResources:
		return ErrorCodeInvalidArgument, fmt.Sprintf("Parameter Resources is not valid. Reason: at most %d resources.", MaxResources)
	case len(e.Source) >= 4 && e.Source[:4] == "aws.":
		return ErrorCodeNotAuthorizedSrc, "Not authorized for the source."
	}
	for _, r := range e.Resources {
		if utf8.RuneCountInString(r) > MaxResourceLen {
			return ErrorCodeInvalidArgument, fmt.Sprintf("Parameter Resources is not valid. Reason: a resource is longer than %d characters.", MaxResourceLen)
		}
	}
	return "", ""
}

// isJSONObject reports whether b is exactly one valid JSON object.
func isJSONObject(b []byte) bool {
	if !json.Valid(b) {
		return false
	}
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// Put validates the entries, makes events of the valid ones (full EventBridge envelope),
// records one pending delivery per matching rule and returns one result per entry in
// order. With DataDir set the deliveries are on disk before Put returns. A non-nil
// error means nothing was accepted.
func (b *Bus) Put(ctx context.Context, entries []Entry) ([]PutResult, error) {
	if len(entries) == 0 {
		return nil, ErrNoEntries
	}
	if len(entries) > MaxEntriesPerPut {
		return nil, ErrTooManyEntries
	}
	total := 0
	for _, e := range entries {
		total += EntrySize(e)
	}
	if total > MaxEntriesSize {
		return nil, ErrEntriesTooLarge
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	now := b.now().UTC()
	results := make([]PutResult, len(entries))
	type accepted struct {
		raw  []byte
		view *events.EventBridgeEvent // raw decoded, shared by its deliveries and tails
	}
	evs := make([]accepted, 0, len(entries))
	for i, e := range entries {
		code, msg := validateFields(e)
		var raw []byte
		var view *events.EventBridgeEvent
		if code == "" {
			ev := b.envelope(e, now)
			var start int
			var err error
			if raw, start, err = encodeEvent(&ev); err != nil {
				code, msg = ErrorCodeMalformedDetail, malformedDetail
			} else {
				// The view's detail is the encoded one, as decoding raw gives it.
				ev.Detail = raw[start : len(raw)-1 : len(raw)-1]
				view = &ev
			}
		}
		if code == "" {
			// EventBridge may fail single entries of a PutEvents it answers 200
			// (FailedEntryCount, ErrorCode InternalFailure or ThrottlingException);
			// the caller must resend exactly those.
			code, msg = b.opts.Faults.EntryFailure(b.opts.Name)
		}
		if code != "" {
			results[i] = PutResult{ErrorCode: code, ErrorMessage: msg}
			continue
		}
		results[i] = PutResult{EventID: view.ID}
		evs = append(evs, accepted{raw: raw, view: view})
	}

	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, ErrClosed
	}
	var ds []*delivery
	var targets []*rule
	for _, a := range evs {
		for _, r := range b.rules {
			ok, err := r.pattern.Match(a.raw)
			if err != nil {
				b.log.Warn("match event", "rule", r.sub.Name, "event", a.view.ID, "error", err)
				continue
			}
			if ok {
				ds = append(ds, &delivery{Rule: r.sub.Name, EventID: a.view.ID, Event: a.raw, ReceivedAt: now, view: a.view})
				targets = append(targets, r)
			}
		}
	}
	raws, ids, times := make([][]byte, len(evs)), make([]string, len(evs)), make([]time.Time, len(evs))
	for i, a := range evs {
		raws[i], ids[i], times[i] = a.raw, a.view.ID, a.view.Time
	}
	if arch := b.archivedFor(raws, ids, times); len(ds) > 0 || len(arch) > 0 {
		if err := b.arch.addPendingArchived(ds, arch); err != nil {
			return nil, fmt.Errorf("persist %d deliveries and %d archived events: %w", len(ds), len(arch), err)
		}
	}
	for i, d := range ds {
		// EventBridge delivers at least once and in no order: a delivery may be made
		// twice, or late.
		first := *d // taken before copy 0 is handed over and its attempts change it
		b.opts.Faults.Hand(d.Rule, func(copy int) {
			if copy > 0 {
				dup := first
				targets[i].push(&dup)
				return
			}
			targets[i].push(d)
		})
	}
	for _, a := range evs {
		b.publishTail(a.raw, *a.view)
	}
	b.accepted.Add(uint64(len(evs)))
	b.rejected.Add(uint64(len(entries) - len(evs)))
	return results, nil
}

// detailKey starts the detail member of an event that json.Marshal encoded: the
// struct's last field, and the first place these bytes can occur outside a string,
// since the members before it hold only strings.
var detailKey = []byte(`,"detail":`)

// envelope wraps an entry the way EventBridge does: version "0", a v4 UUID id, time to
// the second, resources always an array. Its Detail is still the entry's (the caller's
// bytes), which encodeEvent turns into the event's own.
func (b *Bus) envelope(e Entry, now time.Time) events.EventBridgeEvent {
	t := e.Time
	if t.IsZero() {
		t = now
	}
	res := make([]string, len(e.Resources))
	copy(res, e.Resources)
	detail := e.Detail
	return events.EventBridgeEvent{
		Version:    "0",
		ID:         newUUID(),
		DetailType: e.DetailType,
		Source:     e.Source,
		AccountID:  b.opts.Account,
		Time:       t.UTC().Truncate(time.Second),
		Region:     b.opts.Region,
		Resources:  res,
		Detail:     detail,
	}
}

// Subscribe adds a rule. Deliveries for this rule name that a previous process left
// pending in DataDir (or that were redriven meanwhile) start right away.
func (b *Bus) Subscribe(sub subscription.Subscription, target subscription.Target) error {
	return b.SubscribeFunction(sub, target, "")
}

// SubscribeFunction is Subscribe for a target that is the Lambda function with ARN
// functionARN, as ListTargetsByRule shows it (empty: a function named after the rule).
func (b *Bus) SubscribeFunction(sub subscription.Subscription, target subscription.Target, functionARN string) error {
	if target == nil {
		return fmt.Errorf("%w: rule %s has no target", ErrInvalidRule, sub.Name)
	}
	return b.subscribe(sub, target, nil, functionARN)
}

// SubscribeRaw is Subscribe for a target that takes the event as EventBridge
// serializes it for a target, such as an SQS queue, whose message body is the whole
// event (targetARN is the queue's, as ListTargetsByRule shows it). The bytes are the
// stored ones, handed over without decoding and encoding them again; they are what
// MarshalEvent makes of the event a typed target gets, plus "replay-name" for a
// replayed event, as EventBridge adds it.
func (b *Bus) SubscribeRaw(sub subscription.Subscription, target RawTarget, targetARN string) error {
	if target == nil {
		return fmt.Errorf("%w: rule %s has no target", ErrInvalidRule, sub.Name)
	}
	return b.subscribe(sub, nil, target, targetARN)
}

func (b *Bus) subscribe(sub subscription.Subscription, target subscription.Target, raw RawTarget, targetARN string) error {
	p, err := compileSubscription(sub)
	if err != nil {
		return err
	}
	if sub.MaxAttempts <= 0 {
		sub.MaxAttempts = subscription.DefaultMaxAttempts
	}
	if sub.MaxEventAge <= 0 {
		sub.MaxEventAge = subscription.DefaultMaxEventAge
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if _, ok := b.rules[sub.Name]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicateRule, sub.Name)
	}
	pending, err := b.store.pending(sub.Name)
	if err != nil {
		return fmt.Errorf("load pending deliveries of rule %s: %w", sub.Name, err)
	}
	r := newRule(b, sub, target, raw, p)
	r.targetARN = targetARN
	b.rules[sub.Name] = r
	for _, d := range pending {
		r.push(d)
	}
	if len(pending) > 0 {
		b.log.Info("resuming pending deliveries", "rule", sub.Name, "count", len(pending))
	}
	b.wg.Add(b.opts.WorkersPerRule)
	for range b.opts.WorkersPerRule {
		go r.work()
	}
	return nil
}

// Close stops accepting events, lets deliveries in flight finish (until ctx is done,
// then their contexts are cancelled) and closes the store. Deliveries not yet started
// stay pending in DataDir and resume on the next New; in memory they are dropped.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	for _, r := range b.rules {
		r.stop()
	}
	b.mu.Unlock()
	b.haltReplays()
	b.closeTails()

	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	var waitErr error
	select {
	case <-done:
	case <-ctx.Done():
		b.cancel() // ask targets to give up; their outcome is recorded if they return soon
		select {
		case <-done:
		case <-time.After(100 * time.Millisecond):
		}
		waitErr = fmt.Errorf("close bus %s: deliveries still running: %w", b.opts.Name, ctx.Err())
	}
	b.cancel()
	if err := b.store.close(); err != nil {
		return errors.Join(waitErr, fmt.Errorf("close bus store: %w", err))
	}
	return waitErr
}

// abandon simulates a crash for tests: it stops scheduling and releases the store at
// once, without waiting for or recording deliveries in flight.
func (b *Bus) abandon() {
	b.mu.Lock()
	b.closed = true
	for _, r := range b.rules {
		r.stop()
	}
	b.mu.Unlock()
	b.haltReplays()
	b.closeTails()
	b.cancel()
	_ = b.store.close()
}

// positiveOr is v, or def when v is zero or negative: an option left unset (or set to
// nonsense) takes its default.
func positiveOr[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
