// Package boltlog is the embedded, durable event log devstack uses: one bbolt file,
// fsynced on every commit, with a per-aggregate bucket keyed by version and a global
// feed (positions 1, 2, 3… in commit order) that plays the part of a DynamoDB stream.
//
// Concurrent appends are group-committed: while one transaction is being written to
// disk, the appends that arrive queue up and go into the next transaction together,
// so parallel writers share fsyncs without delaying a lone writer. An Append returns
// only after its transaction is on disk.
package boltlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/concertsys/platform/eventlog"
)

var (
	_ eventlog.Log     = (*Log)(nil)
	_ eventlog.Scanner = (*Log)(nil)
	_ eventlog.Feed    = (*Log)(nil)
)

// ErrClosed is returned by operations on a closed Log.
var ErrClosed = errors.New("event log closed")

var (
	aggregatesBucket = []byte("aggregates") // aggregate id -> bucket: version -> event
	feedBucket       = []byte("feed")       // position -> version + aggregate id
)

// A transaction takes at most maxGroup appends or maxGroupBytes of events, so a
// burst of large appends does not build one huge transaction.
const (
	maxGroup      = 256
	maxGroupBytes = 16 << 20
)

// Log is an event log in one bbolt file. It is safe for concurrent use.
type Log struct {
	db       *bolt.DB
	requests chan *request
	done     chan struct{} // closed when the writer goroutine has exited

	closeOnce sync.Once
	closing   chan struct{}

	mu      sync.Mutex
	changed chan struct{}
}

type request struct {
	events []eventlog.Event
	bytes  int // item size of events, summed on the caller's goroutine, not the one writer's
	result chan error
}

// Open opens (creating if needed) the log in the file at path. Another process
// holding the file makes Open fail after a second instead of waiting forever.
func Open(path string) (*Log, error) {
	// The freelist is rebuilt from the pages on open, so writing it on every commit
	// (bbolt's default) costs page writes and protects nothing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open event log %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{aggregatesBucket, feedBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init event log %s: %w", path, err)
	}
	l := &Log{
		db:       db,
		requests: make(chan *request),
		done:     make(chan struct{}),
		closing:  make(chan struct{}),
		changed:  make(chan struct{}),
	}
	go l.writer()
	return l, nil
}

// Close waits for appends in flight, then closes the file.
func (l *Log) Close() error {
	l.closeOnce.Do(func() { close(l.closing) })
	<-l.done
	err := l.db.Close()
	l.notify() // wake feed readers so they notice the log is gone
	return err
}

// Append writes events of one aggregate atomically and returns once they are on disk.
func (l *Log) Append(ctx context.Context, events []eventlog.Event) error {
	if err := eventlog.ValidateBatch(events); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	req := &request{events: events, result: make(chan error, 1)}
	for _, e := range events {
		req.bytes += eventlog.ItemSize(e)
	}
	select {
	case l.requests <- req:
	case <-l.closing:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("append %s: %w", events[0].AggregateID, ctx.Err())
	}
	// Once queued the outcome is decided by the writer; wait for it so that a nil
	// error always means durable and an error always means not written.
	return <-req.result
}

// writer is the only goroutine that writes. It takes one request, adds whatever else
// is already waiting, and commits them in one transaction.
func (l *Log) writer() {
	defer close(l.done)
	for {
		var group []*request
		select {
		case r := <-l.requests:
			group = append(group, r)
		case <-l.closing:
			return
		}
		size := group[0].bytes
	drain:
		for len(group) < maxGroup && size < maxGroupBytes {
			select {
			case r := <-l.requests:
				group = append(group, r)
				size += r.bytes
			default:
				break drain
			}
		}
		l.commit(group)
	}
}

// commit applies the group in one transaction. Each request's own outcome (a
// conflict) does not abort the others; a storage error fails the transaction, and
// then each request is retried alone so one bad request cannot fail its neighbours.
func (l *Log) commit(group []*request) {
	results := make([]error, len(group))
	err := l.db.Update(func(tx *bolt.Tx) error {
		for i, r := range group {
			res, err := apply(tx, r.events)
			if err != nil {
				return err
			}
			results[i] = res
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for _, r := range group {
			l.commit([]*request{r})
		}
		return
	}
	if err == nil {
		l.notify()
	}
	for i, r := range group {
		if err != nil {
			r.result <- fmt.Errorf("append %s: %w", r.events[0].AggregateID, err)
			continue
		}
		r.result <- results[i]
	}
}

// apply writes one batch inside tx. It returns (conflict, nil) without writing when
// the versions are taken or would leave a gap, and (nil, err) on storage failure.
func apply(tx *bolt.Tx, events []eventlog.Event) (outcome, err error) {
	first := events[0]
	aggs := tx.Bucket(aggregatesBucket)
	agg := aggs.Bucket([]byte(first.AggregateID))
	var current int64
	if agg != nil {
		if k, _ := agg.Cursor().Last(); k != nil {
			current = int64(binary.BigEndian.Uint64(k))
		}
	}
	if first.Version != current+1 {
		return &eventlog.ConflictError{AggregateID: first.AggregateID, Version: first.Version}, nil
	}
	if agg == nil {
		if agg, err = aggs.CreateBucket([]byte(first.AggregateID)); err != nil {
			return nil, err
		}
	}
	feed := tx.Bucket(feedBucket)
	for _, e := range events {
		if err := agg.Put(versionKey(e.Version), encode(e)); err != nil {
			return nil, err
		}
		pos, err := feed.NextSequence()
		if err != nil {
			return nil, err
		}
		ref := append(versionKey(e.Version), e.AggregateID...)
		if err := feed.Put(versionKey(int64(pos)), ref); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// notify wakes everyone waiting on Changed.
func (l *Log) notify() {
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// Changed returns a channel closed at the next commit after the call.
func (l *Log) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// Load returns every event of the aggregate in version order, or ErrNotFound.
func (l *Log) Load(ctx context.Context, aggregateID string) ([]eventlog.Event, error) {
	events, found, err := l.load(ctx, aggregateID, 0)
	if err != nil {
		return nil, err
	}
	if !found || len(events) == 0 {
		return nil, fmt.Errorf("load %s: %w", aggregateID, eventlog.ErrNotFound)
	}
	return events, nil
}

// LoadAfter returns the events with Version > after, in order (possibly none).
func (l *Log) LoadAfter(ctx context.Context, aggregateID string, after int64) ([]eventlog.Event, error) {
	events, _, err := l.load(ctx, aggregateID, after)
	return events, err
}

// LoadPage returns at most limit events with Version > after and whether more follow;
// it walks the aggregate's bucket from after+1 and stops after limit+1 keys.
func (l *Log) LoadPage(ctx context.Context, aggregateID string, after int64, limit int) ([]eventlog.Event, bool, error) {
	if err := eventlog.CheckPageLimit(limit); err != nil {
		return nil, false, err
	}
	events, _, err := l.loadN(ctx, aggregateID, after, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(events) > limit {
		return events[:limit], true, nil
	}
	return events, false, nil
}

func (l *Log) load(ctx context.Context, aggregateID string, after int64) ([]eventlog.Event, bool, error) {
	return l.loadN(ctx, aggregateID, after, 0)
}

// loadN reads the events after after, at most max of them (0: all).
func (l *Log) loadN(ctx context.Context, aggregateID string, after int64, max int) ([]eventlog.Event, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("load %s: %w", aggregateID, err)
	}
	var events []eventlog.Event
	found := false
	err := l.db.View(func(tx *bolt.Tx) error {
		agg := tx.Bucket(aggregatesBucket).Bucket([]byte(aggregateID))
		if agg == nil {
			return nil
		}
		found = true
		start := after + 1
		if start < 1 {
			start = 1
		}
		c := agg.Cursor()
		for k, v := c.Seek(versionKey(start)); k != nil && (max == 0 || len(events) < max); k, v = c.Next() {
			e, err := decode(aggregateID, k, v)
			if err != nil {
				return err
			}
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("load %s: %w", aggregateID, err)
	}
	return events, found, nil
}

// ReadFeed returns up to limit entries with Position > after, in commit order.
func (l *Log) ReadFeed(ctx context.Context, after uint64, limit int) ([]eventlog.FeedEntry, error) {
	if limit < 1 {
		return nil, fmt.Errorf("read feed: limit %d, want >= 1: %w", limit, eventlog.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read feed: %w", err)
	}
	var out []eventlog.FeedEntry
	err := l.db.View(func(tx *bolt.Tx) error {
		aggs := tx.Bucket(aggregatesBucket)
		c := tx.Bucket(feedBucket).Cursor()
		for k, ref := c.Seek(versionKey(int64(after + 1))); k != nil && len(out) < limit; k, ref = c.Next() {
			if len(ref) < 8 {
				return fmt.Errorf("feed position %d: corrupt reference", binary.BigEndian.Uint64(k))
			}
			id := string(ref[8:])
			agg := aggs.Bucket(ref[8:])
			if agg == nil {
				return fmt.Errorf("feed position %d: aggregate %s missing", binary.BigEndian.Uint64(k), id)
			}
			v := agg.Get(ref[:8])
			if v == nil {
				return fmt.Errorf("feed position %d: %s version %d missing", binary.BigEndian.Uint64(k), id, binary.BigEndian.Uint64(ref[:8]))
			}
			e, err := decode(id, ref[:8], v)
			if err != nil {
				return err
			}
			out = append(out, eventlog.FeedEntry{Position: binary.BigEndian.Uint64(k), Event: e})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read feed after %d: %w", after, err)
	}
	return out, nil
}

// ForEach calls fn for every event in commit order. It reads in pages and calls fn
// outside any transaction, so fn may append to the log.
func (l *Log) ForEach(ctx context.Context, fn func(eventlog.Event) error) error {
	var after uint64
	for {
		page, err := l.ReadFeed(ctx, after, 512)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, fe := range page {
			if err := fn(fe.Event); err != nil {
				return err
			}
			after = fe.Position
		}
	}
}

func versionKey(v int64) []byte {
	k := make([]byte, 8, 8+64)
	binary.BigEndian.PutUint64(k, uint64(v))
	return k
}

// Encoding of an event value (the key holds the version, the bucket the aggregate):
// format byte, then uvarint-length-prefixed EventID, EventType, CorrelationID,
// CausationID (formatV2: and TraceParent), varint SchemaVersion, varint Created in
// Unix milliseconds, and the data bytes verbatim to the end. Records of formatV1
// (written before traces) still decode, without a TraceParent.
const (
	formatV1 = 1
	formatV2 = 2
)

func encode(e eventlog.Event) []byte {
	var b bytes.Buffer
	b.Grow(64 + len(e.EventID) + len(e.EventType) + len(e.CorrelationID) + len(e.CausationID) + len(e.TraceParent) + len(e.Data))
	b.WriteByte(formatV2)
	for _, s := range [...]string{e.EventID, e.EventType, e.CorrelationID, e.CausationID, e.TraceParent} {
		b.Write(binary.AppendUvarint(nil, uint64(len(s))))
		b.WriteString(s)
	}
	b.Write(binary.AppendVarint(nil, int64(e.SchemaVersion)))
	b.Write(binary.AppendVarint(nil, e.OccurredAt.UnixMilli()))
	b.Write(e.Data)
	return b.Bytes()
}

var errCorrupt = errors.New("corrupt event record")

func decode(aggregateID string, key, v []byte) (eventlog.Event, error) {
	e := eventlog.Event{AggregateID: aggregateID, Version: int64(binary.BigEndian.Uint64(key))}
	fail := func() (eventlog.Event, error) {
		return eventlog.Event{}, fmt.Errorf("%s version %d: %w", aggregateID, e.Version, errCorrupt)
	}
	if len(v) == 0 || (v[0] != formatV1 && v[0] != formatV2) {
		return fail()
	}
	var strs [5]string
	fields := 4
	if v[0] == formatV2 {
		fields = 5
	}
	v = v[1:]
	for i := range fields {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return fail()
		}
		strs[i] = string(v[w : w+int(n)])
		v = v[w+int(n):]
	}
	schema, w := binary.Varint(v)
	if w <= 0 {
		return fail()
	}
	v = v[w:]
	ms, w := binary.Varint(v)
	if w <= 0 {
		return fail()
	}
	e.EventID, e.EventType, e.CorrelationID, e.CausationID, e.TraceParent = strs[0], strs[1], strs[2], strs[3], strs[4]
	e.SchemaVersion = int(schema)
	e.OccurredAt = time.UnixMilli(ms).UTC()
	e.Data = append([]byte(nil), v[w:]...)
	return e, nil
}
