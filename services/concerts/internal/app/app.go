// Package app runs the concerts commands and queries: it loads the Concert aggregate
// from the event log, lets the domain decide, and appends what it recorded, retrying
// optimistic-concurrency conflicts. It declares the ports it needs (the event log is
// platform's eventlog.Log; the idempotency store is declared here).
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/concertsys/platform/eventlog"

	"github.com/concertsys/services/concerts/internal/domain"
)

// Errors of the application layer. Domain errors (domain.ErrInvalid, ErrSoldOut, …)
// pass through unchanged.
var (
	// ErrNotFound: no concert has this id.
	ErrNotFound = errors.New("concert not found")
	// ErrPreconditionFailed: the caller's expected version is not the current one.
	ErrPreconditionFailed = errors.New("version precondition failed")
	// ErrContention: conflicting writes kept winning until the retries ran out.
	ErrContention = errors.New("too many concurrent changes")
	// ErrAlreadyExists: a concert with this id exists already.
	ErrAlreadyExists = errors.New("concert already exists")
)

// Defaults of Config.
const (
	DefaultMaxAttempts = 10
	DefaultLease       = 2 * time.Minute
	DefaultRetention   = 24 * time.Hour
	cacheSize          = 4096
)

// Config is what the application needs.
type Config struct {
	Log         eventlog.Log
	Idempotency IdempotencyStore
	Now         func() time.Time
	NewID       func() string
	Logger      *slog.Logger
	// MaxAttempts bounds the tries of a write without If-Match that keeps losing the
	// optimistic-concurrency race. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// Lease is how long an in-progress idempotency claim blocks duplicates; it must
	// exceed the function timeout, since an expired claim is taken over.
	Lease time.Duration
	// Retention is how long a stored response is replayed.
	Retention time.Duration
}

// App executes commands and queries. It is safe for concurrent use.
type App struct {
	cfg   Config
	cache *aggregateCache
	locks *keyedLocks
}

// Meta is what every command carries besides its data.
type Meta struct {
	CorrelationID string
	CausationID   string
	// IfMatch is the version the caller expects the concert to have (If-Match);
	// nil means "whatever it is", and conflicts are retried.
	IfMatch *int64
}

// Result is what every write answers.
type Result struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

// PreconditionError reports the current version when If-Match is stale.
type PreconditionError struct {
	Expected, Current int64
}

func (e *PreconditionError) Error() string {
	if e.Current == 0 { // versions start at 1: there is no version to match
		return fmt.Sprintf("expected version %d, but the concert does not exist yet", e.Expected)
	}
	return fmt.Sprintf("expected version %d, current version is %d", e.Expected, e.Current)
}

// Is makes errors.Is(err, ErrPreconditionFailed) hold.
func (e *PreconditionError) Is(target error) bool { return target == ErrPreconditionFailed }

// New checks cfg and builds the application.
func New(cfg Config) (*App, error) {
	if cfg.Log == nil || cfg.Idempotency == nil || cfg.Now == nil || cfg.NewID == nil {
		return nil, errors.New("app: Log, Idempotency, Now and NewID are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	return &App{cfg: cfg, cache: newAggregateCache(cacheSize), locks: newKeyedLocks()}, nil
}

// NewID returns a fresh id (for a concert to create).
func (a *App) NewID() string { return a.cfg.NewID() }

// change loads the concert, applies fn and appends what it recorded, retrying on a
// version conflict unless the caller pinned the version with If-Match.
func (a *App) change(ctx context.Context, id string, meta Meta, fn func(c *domain.Concert, now time.Time) error) (Result, error) {
	// Serialising writers of one concert inside this process removes conflicts among
	// them; conflicts with other processes are still resolved by the log.
	unlock, err := a.locks.lock(ctx, id)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		c, err := a.load(ctx, id)
		if err != nil {
			return Result{}, err
		}
		if meta.IfMatch != nil && *meta.IfMatch != c.Version() {
			return Result{}, &PreconditionError{Expected: *meta.IfMatch, Current: c.Version()}
		}
		now := a.cfg.Now()
		if err := fn(c, now); err != nil {
			return Result{}, err
		}
		if len(c.Pending()) == 0 {
			return Result{ID: id, Version: c.Version()}, nil
		}
		err = a.append(ctx, c, meta, now)
		if err == nil {
			return Result{ID: id, Version: c.Version()}, nil
		}
		if !errors.Is(err, eventlog.ErrConflict) {
			return Result{}, err
		}
		if meta.IfMatch != nil {
			return Result{}, &PreconditionError{Expected: *meta.IfMatch, Current: c.CommittedVersion() + 1}
		}
		if attempt >= a.cfg.MaxAttempts {
			return Result{}, fmt.Errorf("concert %s after %d attempts: %w", id, attempt, ErrContention)
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return Result{}, err
		}
	}
}

// load returns a private copy of the concert at its latest stored version. A cached
// copy is caught up with only the events stored after it: the log is append-only, so
// what was cached never becomes wrong, only old.
func (a *App) load(ctx context.Context, id string) (*domain.Concert, error) {
	if c, ok := a.cache.get(id); ok {
		evs, err := a.cfg.Log.LoadAfter(ctx, id, c.CommittedVersion())
		if err != nil {
			return nil, fmt.Errorf("load concert %s after version %d: %w", id, c.CommittedVersion(), err)
		}
		if err := c.ApplyStored(recorded(evs)); err == nil {
			a.cache.put(c)
			return c.Clone(), nil
		}
		a.cache.drop(id) // should not happen; rebuild from scratch below
	}
	evs, err := a.cfg.Log.Load(ctx, id)
	if errors.Is(err, eventlog.ErrNotFound) {
		return nil, fmt.Errorf("concert %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load concert %s: %w", id, err)
	}
	c, err := domain.Rehydrate(id, recorded(evs))
	if err != nil {
		return nil, fmt.Errorf("rebuild concert %s: %w", id, err)
	}
	a.cache.put(c)
	return c.Clone(), nil
}

// append stores the concert's pending events and marks them committed.
func (a *App) append(ctx context.Context, c *domain.Concert, meta Meta, now time.Time) error {
	pending := c.Pending()
	out := make([]eventlog.Event, len(pending))
	for i, e := range pending {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("encode %s: %w", e.Type, err)
		}
		out[i] = eventlog.Event{
			AggregateID:   c.ID(),
			Version:       e.Version,
			EventID:       a.cfg.NewID(),
			EventType:     e.Type,
			SchemaVersion: domain.SchemaVersion,
			OccurredAt:    now,
			CorrelationID: meta.CorrelationID,
			CausationID:   meta.CausationID,
			Data:          data,
		}
	}
	if err := a.cfg.Log.Append(ctx, out); err != nil {
		return fmt.Errorf("append %d events to concert %s at version %d: %w", len(out), c.ID(), pending[0].Version, err)
	}
	c.MarkCommitted()
	a.cache.put(c.Clone())
	return nil
}

func recorded(evs []eventlog.Event) []domain.Recorded {
	out := make([]domain.Recorded, len(evs))
	for i, e := range evs {
		out[i] = domain.Recorded{Version: e.Version, Type: e.EventType, Data: e.Data}
	}
	return out
}

// backoff is full jitter over an exponential ceiling, so writers that collided do not
// collide again in lockstep.
func backoff(attempt int) time.Duration {
	ceiling := 5 * time.Millisecond << min(attempt, 6)
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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
