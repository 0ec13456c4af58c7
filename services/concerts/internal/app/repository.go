package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/concertsys/platform/backoff"
	"github.com/concertsys/platform/eventlog"

	"github.com/concertsys/services/concerts/internal/domain"
)

// Defaults of the Repository.
const (
	DefaultMaxAttempts = 10
	cacheSize          = 4096
)

// conflictBackoff spreads writers that collided (full jitter over 10ms doubling to
// 320ms), so they do not collide again in lockstep.
var conflictBackoff = backoff.Policy{Base: 10 * time.Millisecond, Max: 320 * time.Millisecond, Jitter: backoff.Full}

// Repository keeps concerts in the event log: it loads them (through a cache of
// committed state), serialises writers of one concert in this process, retries
// optimistic-concurrency conflicts and appends what the domain recorded. It is safe
// for concurrent use.
type Repository struct {
	log         eventlog.Log
	now         func() time.Time
	newID       func() string
	maxAttempts int
	cache       *aggregateCache
	locks       *keyedLocks

	snapshots     eventlog.SnapshotStore // nil: no snapshots
	snapshotEvery int64
	report        func(error)
}

// DefaultSnapshotEvery is how many events apart snapshots are taken by default: a cold
// load then reads one snapshot and fewer than this many events (a few KB, one read
// unit's worth on DynamoDB), however long the history.
const DefaultSnapshotEvery = 10

// NewRepository builds the repository over log; now stamps events and newID names
// them. maxAttempts bounds the tries of a write without If-Match that keeps losing
// the race (0 means DefaultMaxAttempts).
func NewRepository(log eventlog.Log, now func() time.Time, newID func() string, maxAttempts int) (*Repository, error) {
	if log == nil || now == nil || newID == nil {
		return nil, errors.New("app: the repository needs a log, a clock and an id source")
	}
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	return &Repository{log: log, now: now, newID: newID, maxAttempts: maxAttempts,
		cache: newAggregateCache(cacheSize), locks: newKeyedLocks()}, nil
}

// UseSnapshots makes the repository load concerts from their latest snapshot in store
// plus the events after it, and store a snapshot whenever a write crosses a multiple of
// every events (or followed a load that folded at least every events). Snapshots are a
// cache of the fold: one that cannot be read or was written under another
// domain.StateVersion is ignored, and a failure to save one is passed to report (nil:
// ignored) without failing the command. Call it before the repository is used.
func (r *Repository) UseSnapshots(store eventlog.SnapshotStore, every int, report func(error)) {
	if every <= 0 {
		every = DefaultSnapshotEvery
	}
	if report == nil {
		report = func(error) {}
	}
	r.snapshots, r.snapshotEvery, r.report = store, int64(every), report
}

// Update loads concert id, runs update on it and appends what it recorded. A version
// conflict is retried (update runs again on the newer state) unless the caller pinned
// the version with meta.IfMatch, which answers a PreconditionError when stale.
func (r *Repository) Update(ctx context.Context, id string, meta Meta, update func(*domain.Concert) error) (Result, error) {
	// Serialising writers of one concert inside this process removes conflicts among
	// them; conflicts with other processes are still resolved by the log.
	unlock, err := r.locks.lock(ctx, id)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	var res Result
	err = conflictBackoff.Retry(ctx, r.maxAttempts, isConflict, func(ctx context.Context) error {
		res, err = r.try(ctx, id, meta, update)
		return err
	})
	if isConflict(err) {
		return Result{}, fmt.Errorf("concert %s after %d attempts: %w", id, r.maxAttempts, ErrContention)
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// try is one attempt of Update.
func (r *Repository) try(ctx context.Context, id string, meta Meta, update func(*domain.Concert) error) (Result, error) {
	c, folded, err := r.load(ctx, id)
	if err != nil {
		return Result{}, err
	}
	before := c.CommittedVersion()
	if meta.IfMatch != nil && *meta.IfMatch != c.Version() {
		return Result{}, &PreconditionError{Expected: *meta.IfMatch, Current: c.Version()}
	}
	if err := update(c); err != nil {
		return Result{}, err
	}
	if len(c.Pending()) == 0 {
		return Result{ID: id, Version: c.Version()}, nil
	}
	err = r.append(ctx, c, meta)
	if meta.IfMatch != nil && errors.Is(err, eventlog.ErrConflict) {
		return Result{}, &PreconditionError{Expected: *meta.IfMatch, Current: c.CommittedVersion() + 1}
	}
	if err != nil {
		return Result{}, err
	}
	r.maybeSnapshot(ctx, c, before, folded)
	return Result{ID: id, Version: c.Version()}, nil
}

// maybeSnapshot stores the committed concert's snapshot when its write crossed a
// multiple of snapshotEvery or its load folded that many events.
func (r *Repository) maybeSnapshot(ctx context.Context, c *domain.Concert, before int64, folded int) {
	if r.snapshots == nil {
		return
	}
	if c.CommittedVersion()/r.snapshotEvery == before/r.snapshotEvery && int64(folded) < r.snapshotEvery {
		return
	}
	s, err := c.Snapshot()
	if err != nil {
		r.report(err)
		return
	}
	state, err := json.Marshal(s)
	if err != nil {
		r.report(fmt.Errorf("encode snapshot of concert %s: %w", c.ID(), err))
		return
	}
	if err := r.snapshots.Save(ctx, eventlog.Snapshot{AggregateID: c.ID(), Version: s.Version,
		StateVersion: domain.StateVersion, State: state}); err != nil {
		r.report(err)
	}
}

// Create appends a new concert's events; ErrAlreadyExists if its id is taken.
func (r *Repository) Create(ctx context.Context, c *domain.Concert, meta Meta) (Result, error) {
	err := r.append(ctx, c, meta)
	if errors.Is(err, eventlog.ErrConflict) {
		return Result{}, fmt.Errorf("concert %s: %w", c.ID(), ErrAlreadyExists)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{ID: c.ID(), Version: c.Version()}, nil
}

func isConflict(err error) bool { return errors.Is(err, eventlog.ErrConflict) }

// load returns a private copy of the concert at its latest stored version, and how
// many events it folded to get there. A cached copy is caught up with only the events
// stored after it: the log is append-only, so what was cached never becomes wrong, only
// old. Otherwise the concert starts from its snapshot, if any, or from scratch.
func (r *Repository) load(ctx context.Context, id string) (*domain.Concert, int, error) {
	if c, ok := r.cache.get(id); ok {
		evs, err := r.log.LoadAfter(ctx, id, c.CommittedVersion())
		if err != nil {
			return nil, 0, fmt.Errorf("load concert %s after version %d: %w", id, c.CommittedVersion(), err)
		}
		if err := c.ApplyStored(recorded(evs)); err == nil {
			r.cache.put(c)
			return c.Clone(), len(evs), nil
		}
		r.cache.drop(id) // should not happen; rebuild from scratch below
	}
	if c, folded, ok := r.loadFromSnapshot(ctx, id); ok {
		r.cache.put(c)
		return c.Clone(), folded, nil
	}
	evs, err := r.log.Load(ctx, id)
	if errors.Is(err, eventlog.ErrNotFound) {
		return nil, 0, fmt.Errorf("concert %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("load concert %s: %w", id, err)
	}
	c, err := domain.Rehydrate(id, recorded(evs))
	if err != nil {
		return nil, 0, fmt.Errorf("rebuild concert %s: %w", id, err)
	}
	r.cache.put(c)
	return c.Clone(), len(evs), nil
}

// loadFromSnapshot restores the concert from its latest snapshot and the events after
// it. ok is false when there is no usable snapshot (none, another StateVersion, not
// decodable, or the events after it do not fold): the caller folds from scratch.
func (r *Repository) loadFromSnapshot(ctx context.Context, id string) (c *domain.Concert, folded int, ok bool) {
	if r.snapshots == nil {
		return nil, 0, false
	}
	stored, err := r.snapshots.Latest(ctx, id)
	if err != nil {
		if !errors.Is(err, eventlog.ErrNoSnapshot) {
			r.report(err)
		}
		return nil, 0, false
	}
	if stored.StateVersion != domain.StateVersion {
		return nil, 0, false // written by another shape of the aggregate
	}
	var s domain.Snapshot
	if err := json.Unmarshal(stored.State, &s); err != nil || s.ID != id || s.Version != stored.Version {
		r.report(fmt.Errorf("snapshot of concert %s at %d: unusable (%v)", id, stored.Version, err))
		return nil, 0, false
	}
	c, err = domain.FromSnapshot(s)
	if err != nil {
		r.report(err)
		return nil, 0, false
	}
	evs, err := r.log.LoadAfter(ctx, id, s.Version)
	if err != nil {
		r.report(fmt.Errorf("load concert %s after snapshot %d: %w", id, s.Version, err))
		return nil, 0, false
	}
	if err := c.ApplyStored(recorded(evs)); err != nil {
		r.report(err)
		return nil, 0, false
	}
	return c, len(evs), true
}

// append stores the concert's pending events and marks them committed.
func (r *Repository) append(ctx context.Context, c *domain.Concert, meta Meta) error {
	now := r.now()
	pending := c.Pending()
	out := make([]eventlog.Event, len(pending))
	for i, e := range pending {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("encode %s: %w", e.EventType, err)
		}
		out[i] = eventlog.Event{
			AggregateID:   c.ID(),
			Version:       e.Version,
			EventID:       r.newID(),
			EventType:     e.EventType,
			SchemaVersion: domain.SchemaVersion,
			OccurredAt:    now,
			CorrelationID: meta.CorrelationID,
			CausationID:   meta.CausationID,
			Data:          data,
		}
	}
	if err := r.log.Append(ctx, out); err != nil {
		return fmt.Errorf("append %d events to concert %s at version %d: %w", len(out), c.ID(), pending[0].Version, err)
	}
	c.MarkCommitted()
	r.cache.put(c.Clone())
	return nil
}

func recorded(evs []eventlog.Event) []domain.Recorded {
	out := make([]domain.Recorded, len(evs))
	for i, e := range evs {
		out[i] = domain.Recorded{Version: e.Version, EventType: e.EventType, Data: e.Data}
	}
	return out
}

// aggregateCache keeps the latest known state of recently used concerts. It holds
// only committed state; readers get clones.
type aggregateCache struct {
	mu    sync.Mutex
	max   int
	items map[string]*domain.Concert
}

func newAggregateCache(max int) *aggregateCache {
	return &aggregateCache{max: max, items: make(map[string]*domain.Concert)}
}

func (c *aggregateCache) get(id string) (*domain.Concert, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.items[id]
	if !ok {
		return nil, false
	}
	return v.Clone(), true
}

func (c *aggregateCache) put(v *domain.Concert) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.items[v.ID()]; ok && cur.CommittedVersion() > v.CommittedVersion() {
		return // never go back in time
	}
	if _, ok := c.items[v.ID()]; !ok && len(c.items) >= c.max {
		for k := range c.items { // evict an arbitrary entry: cheap, and good enough
			delete(c.items, k)
			break
		}
	}
	c.items[v.ID()] = v.Clone()
}

func (c *aggregateCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.items, id)
}

// keyedLocks is one mutex per key, created on demand and freed when unused.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{}
	refs int
}

func newKeyedLocks() *keyedLocks { return &keyedLocks{locks: make(map[string]*keyedLock)} }

func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	l, ok := k.locks[key]
	if !ok {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
