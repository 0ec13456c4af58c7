// Package boltviews is the embedded, durable read model store devstack uses: one
// bbolt file, fsynced on every commit, with the views by id and two ordered indexes
// (all views, and views per status) keyed by list position.
package boltviews

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/viewevents"
)

var _ app.ViewStore = (*Store)(nil)

var (
	viewsBucket    = []byte("views")     // id -> record (JSON)
	allBucket      = []byte("by-start")  // position -> id
	statusBucket   = []byte("by-status") // status 0x00 position -> id
	metaBucket     = []byte("meta")
	cursorKeyName  = []byte("cursor-key")
	cursorKeyBytes = 32
)

// maxGroup bounds the writes one group commit takes.
const maxGroup = 256

// errClosed is returned by writes after Close.
var errClosed = errors.New("view store closed")

// Store is a view store in one bbolt file. It is safe for concurrent use.
//
// Writes are group-committed by one writer goroutine: whatever writes queue up
// while a transaction commits share the next transaction and its one fsync, and a
// lone write commits at once. Concurrent consumer invocations would otherwise queue
// for bbolt's single writer lock with one fsync each, and bbolt's own db.Batch makes
// every write wait for company.
type Store struct {
	db      *bolt.DB
	writes  chan *write
	closing chan struct{}
	stopped chan struct{}
	once    sync.Once
	commits atomic.Uint64

	// marks are the MarkPublished calls not committed yet (id → version), applied by
	// the next group commit; wake asks the writer for one when no write is coming.
	mu    sync.Mutex
	marks map[string]int64
	wake  chan struct{}
}

// write is one update waiting for its group commit. fn may run more than once (alone,
// after a neighbour failed the shared transaction), so it must set its outcome from
// scratch, and it reports outcomes such as a conflict outside its error: an error
// rolls back the whole group.
type write struct {
	fn     func(tx *bolt.Tx) error
	result chan error
}

// Open opens (creating if needed) the store in the file at path. Another process
// holding the file makes Open fail after a second instead of waiting forever.
func Open(path string) (*Store, error) {
	// The freelist is rebuilt from the pages on open, so writing it on every commit
	// (bbolt's default) costs page writes and protects nothing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open views %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{viewsBucket, allBucket, statusBucket, metaBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(metaBucket)
		if meta.Get(cursorKeyName) == nil {
			key := make([]byte, cursorKeyBytes)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			return meta.Put(cursorKeyName, key)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init views %s: %w", path, err)
	}
	s := &Store{db: db, writes: make(chan *write), closing: make(chan struct{}), stopped: make(chan struct{}),
		marks: map[string]int64{}, wake: make(chan struct{}, 1)}
	go s.writer()
	return s, nil
}

// Close stops the writer after the commit in progress and the pending marks, then
// closes the file.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.closing) })
	<-s.stopped
	return s.db.Close()
}

// update runs fn in the next group commit and returns when that is durable.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	w := &write{fn: fn, result: make(chan error, 1)}
	select {
	case s.writes <- w:
		return <-w.result
	case <-s.closing:
		return errClosed
	}
}

// MarkDelay is how long a mark waits for a write's commit to ride on before the
// writer commits it alone: under a steady stream of events every mark rides on the
// next view's commit, and an idle store still commits its marks soon.
const MarkDelay = 50 * time.Millisecond

func (s *Store) writer() {
	defer close(s.stopped)
	var markTimer <-chan time.Time // armed while marks wait
	for {
		var group []*write
		select {
		case w := <-s.writes:
			group = append(group, w)
		case <-s.wake:
			if markTimer == nil {
				markTimer = time.After(MarkDelay)
			}
			continue
		case <-markTimer:
			markTimer = nil
			if !s.pendingMarks() {
				continue // committed by a write's commit meanwhile
			}
		case <-s.closing:
			if s.pendingMarks() {
				s.commit(nil)
			}
			return
		}
	drain: // take every write that queued up meanwhile, without waiting for more
		for len(group) < maxGroup {
			select {
			case w := <-s.writes:
				group = append(group, w)
			default:
				break drain
			}
		}
		s.commit(group)
	}
}

// Commits is the number of write transactions committed (each one fsync of the data
// pages and one of the meta page), for benchmarks.
func (s *Store) Commits() uint64 { return s.commits.Load() }

// commit runs the group in one transaction, with the marks pending when it starts.
// When it fails, each write is retried alone, so one failing write cannot fail its
// neighbours.
func (s *Store) commit(group []*write) {
	s.commits.Add(1)
	var marked map[string]int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if marked, err = s.applyMarks(tx); err != nil {
			return err
		}
		for _, w := range group {
			if err := w.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for _, w := range group {
			s.commit([]*write{w})
		}
		return
	}
	if err == nil {
		s.forgetMarks(marked)
	}
	for _, w := range group {
		w.result <- err
	}
}

// CursorKey is a random key generated once per data file, so list cursors stay
// valid across restarts of devstack and differ between data directories.
func (s *Store) CursorKey() ([]byte, error) {
	var key []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		key = bytes.Clone(tx.Bucket(metaBucket).Get(cursorKeyName))
		return nil
	})
	if err != nil || len(key) != cursorKeyBytes {
		return nil, fmt.Errorf("read cursor key: %v", err)
	}
	return key, nil
}

type record struct {
	View              viewevents.ConcertViewV1 `json:"view"`
	LastEventID       string                   `json:"lastEventId,omitempty"`
	LastCorrelationID string                   `json:"lastCorrelationId,omitempty"`
	PublishedVersion  int64                    `json:"publishedVersion"`
}

func statusKey(status, position string) []byte {
	return append(append([]byte(status), 0), position...)
}

func getRecord(tx *bolt.Tx, id string) (record, bool, error) {
	raw := tx.Bucket(viewsBucket).Get([]byte(id))
	if raw == nil {
		return record{}, false, nil
	}
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return record{}, false, fmt.Errorf("decode view %s: %w", id, err)
	}
	return r, true, nil
}

// Get returns the record of a concert.
func (s *Store) Get(ctx context.Context, id string) (app.Record, error) {
	if err := ctx.Err(); err != nil {
		return app.Record{}, fmt.Errorf("get view %s: %w", id, err)
	}
	// The pending mark is read before the view: a mark is forgotten only once its
	// commit is done, so either it is still here or the read sees that commit.
	mark := s.pendingMark(id)
	var r record
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		r, found, err = getRecord(tx, id)
		return err
	})
	if err != nil {
		return app.Record{}, fmt.Errorf("get view %s: %w", id, err)
	}
	if !found {
		return app.Record{}, fmt.Errorf("get view %s: %w", id, app.ErrNotFound)
	}
	r.PublishedVersion = max(r.PublishedVersion, mark)
	return app.Record(r), nil
}

// Put stores the view if the stored version equals expected.
func (s *Store) Put(ctx context.Context, rec app.Record, expected int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put view %s: %w", rec.View.ID, err)
	}
	if rec.View.ID == "" {
		return errors.New("put view: empty id")
	}
	// A conflict is an outcome, not a failed transaction (see write).
	var conflict error
	err := s.update(func(tx *bolt.Tx) error {
		conflict = nil
		old, found, err := getRecord(tx, rec.View.ID)
		if err != nil {
			return err
		}
		if old.View.Version != expected || (!found && expected != 0) {
			conflict = fmt.Errorf("put view %s v%d: stored v%d, expected v%d: %w", rec.View.ID, rec.View.Version, old.View.Version, expected, app.ErrConflict)
			return nil
		}
		return putRecord(tx, rec, old, found)
	})
	if err != nil {
		return fmt.Errorf("put view %s: %w", rec.View.ID, err)
	}
	return conflict
}

// putRecord stores rec over old (found: there was one), keeping old's published
// version and moving the view in the indexes.
func putRecord(tx *bolt.Tx, rec app.Record, old record, found bool) error {
	id := []byte(rec.View.ID)
	all, byStatus := tx.Bucket(allBucket), tx.Bucket(statusBucket)
	if found {
		if err := all.Delete([]byte(app.Position(old.View))); err != nil {
			return err
		}
		if err := byStatus.Delete(statusKey(old.View.Status, app.Position(old.View))); err != nil {
			return err
		}
	}
	next := record(rec)
	next.PublishedVersion = old.PublishedVersion
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	pos := app.Position(rec.View)
	if err := all.Put([]byte(pos), id); err != nil {
		return err
	}
	if err := byStatus.Put(statusKey(rec.View.Status, pos), id); err != nil {
		return err
	}
	return tx.Bucket(viewsBucket).Put(id, raw)
}

var _ app.BatchViewStore = (*Store)(nil)

// PutNewer stores every record whose stored view is not newer, all in one commit
// (one fsync): the rebuild's batch write.
func (s *Store) PutNewer(ctx context.Context, recs []app.Record) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("put %d views: %w", len(recs), err)
	}
	var written int
	err := s.update(func(tx *bolt.Tx) error {
		written = 0
		for _, rec := range recs {
			if rec.View.ID == "" {
				return errors.New("empty id")
			}
			old, found, err := getRecord(tx, rec.View.ID)
			if err != nil {
				return err
			}
			if found && old.View.Version > rec.View.Version {
				continue
			}
			if err := putRecord(tx, rec, old, found); err != nil {
				return err
			}
			written++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("put %d views: %w", len(recs), err)
	}
	return written, nil
}

// MarkPublished raises the published version of a view. It does not wait for a
// commit: the mark is applied by the next group commit (a Put's, or one the writer
// starts for it after MarkDelay), and Get sees it at once. A crash before that commit loses only the
// mark, so the next event of the concert publishes the same ConcertViewUpdated (same
// event id) again: a duplicate its consumers ignore, never a lost publish. The DynamoDB
// adapter writes it synchronously.
func (s *Store) MarkPublished(ctx context.Context, id string, version int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mark view %s published: %w", id, err)
	}
	// Views are never deleted, so one found now is there when the mark is applied.
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(viewsBucket).Get([]byte(id)) != nil
		return nil
	})
	if err == nil && !found {
		err = app.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("mark view %s v%d published: %w", id, version, err)
	}
	s.mu.Lock()
	if version > s.marks[id] {
		s.marks[id] = version
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // a commit is asked for already
	}
	return nil
}

// pendingMarks reports whether marks wait for a commit.
func (s *Store) pendingMarks() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.marks) > 0
}

// applyMarks raises the published versions of the pending marks in tx and returns
// what it applied.
func (s *Store) applyMarks(tx *bolt.Tx) (map[string]int64, error) {
	s.mu.Lock()
	marks := make(map[string]int64, len(s.marks))
	for id, v := range s.marks {
		marks[id] = v
	}
	s.mu.Unlock()
	for id, version := range marks {
		r, found, err := getRecord(tx, id)
		if err != nil {
			return nil, err
		}
		if !found || r.PublishedVersion >= version {
			continue
		}
		r.PublishedVersion = version
		raw, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		if err := tx.Bucket(viewsBucket).Put([]byte(id), raw); err != nil {
			return nil, err
		}
	}
	return marks, nil
}

// forgetMarks drops the committed marks, unless a higher one came meanwhile.
func (s *Store) forgetMarks(committed map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, v := range committed {
		if s.marks[id] <= v {
			delete(s.marks, id)
		}
	}
}

// pendingMark is the mark of id waiting for a commit (0: none).
func (s *Store) pendingMark(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marks[id]
}

// List returns a page of views in list order.
func (s *Store) List(ctx context.Context, q app.ListQuery) (app.ListPage, error) {
	if err := ctx.Err(); err != nil {
		return app.ListPage{}, fmt.Errorf("list views: %w", err)
	}
	if q.Limit < 1 {
		return app.ListPage{}, fmt.Errorf("list views: limit %d, want >= 1", q.Limit)
	}
	var page app.ListPage
	err := s.db.View(func(tx *bolt.Tx) error {
		bucket, prefix := tx.Bucket(allBucket), []byte(nil)
		if q.Status != "" {
			bucket, prefix = tx.Bucket(statusBucket), statusKey(q.Status, "")
		}
		start := append(bytes.Clone(prefix), q.After...)
		c := bucket.Cursor()
		k, id := c.Seek(start)
		if q.After != "" && bytes.Equal(k, start) {
			k, id = c.Next()
		}
		views := tx.Bucket(viewsBucket)
		for ; k != nil && bytes.HasPrefix(k, prefix); k, id = c.Next() {
			if len(page.Items) == q.Limit {
				page.Next = app.Position(page.Items[len(page.Items)-1])
				return nil
			}
			var r record
			if err := json.Unmarshal(views.Get(id), &r); err != nil {
				return fmt.Errorf("decode view %s: %w", id, err)
			}
			page.Items = append(page.Items, r.View)
		}
		return nil
	})
	if err != nil {
		return app.ListPage{}, fmt.Errorf("list views: %w", err)
	}
	return page, nil
}
