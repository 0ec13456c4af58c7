package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// store keeps what must survive a crash: deliveries not yet done and dead letters.
// Each method is atomic.
type store interface {
	addPending(ds []*delivery) error
	updatePending(d *delivery) error
	removePending(rule, eventID string) error
	pending(rule string) ([]*delivery, error)
	moveToDead(rec deadRecord) error
	deadLetters() ([]deadRecord, error)
	// deleteDead deletes the dead letters with these ids; unknown ids are skipped.
	deleteDead(ids []string) error
	redrive(ids []string, now time.Time) ([]*delivery, error)
	close() error
}

func pendingKey(rule, eventID string) []byte { return []byte(rule + "\x00" + eventID) }

// missingIDs lists the ids not in have, for the redrive error.
func missingIDs(ids []string, have func(string) bool) error {
	var missing []string
	for _, id := range ids {
		if !have(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrDeadLetterMissing, strings.Join(missing, ", "))
	}
	return nil
}

func redriven(rec deadRecord, now time.Time) *delivery {
	return &delivery{Rule: rec.Rule, EventID: rec.EventID, Event: rec.Event, ReceivedAt: now}
}

// memStore is the DataDir == "" store.
type memStore struct {
	mu       sync.Mutex
	pend     map[string]delivery
	dead     map[string]deadRecord
	archs    map[string]archiveMeta
	archEvs  map[string][]archivedEvent
	isClosed bool
}

var _ store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{pend: make(map[string]delivery), dead: make(map[string]deadRecord),
		archs: make(map[string]archiveMeta), archEvs: make(map[string][]archivedEvent)}
}

func (m *memStore) addPending(ds []*delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	for _, d := range ds {
		m.pend[string(pendingKey(d.Rule, d.EventID))] = *d
	}
	return nil
}

func (m *memStore) updatePending(d *delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	k := string(pendingKey(d.Rule, d.EventID))
	if _, ok := m.pend[k]; ok {
		m.pend[k] = *d
	}
	return nil
}

func (m *memStore) removePending(rule, eventID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	delete(m.pend, string(pendingKey(rule, eventID)))
	return nil
}

func (m *memStore) pending(rule string) ([]*delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*delivery
	for _, d := range m.pend {
		if d.Rule == rule {
			d := d
			out = append(out, &d)
		}
	}
	return out, nil
}

func (m *memStore) moveToDead(rec deadRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	delete(m.pend, string(pendingKey(rec.Rule, rec.EventID)))
	m.dead[rec.ID] = rec
	return nil
}

func (m *memStore) deadLetters() ([]deadRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]deadRecord, 0, len(m.dead))
	for _, rec := range m.dead {
		out = append(out, rec)
	}
	return out, nil
}

func (m *memStore) deleteDead(ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.dead, id)
	}
	return nil
}

func (m *memStore) redrive(ids []string, now time.Time) ([]*delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return nil, ErrClosed
	}
	if len(ids) == 0 {
		for id := range m.dead {
			ids = append(ids, id)
		}
	}
	ids = dedupe(ids)
	if err := missingIDs(ids, func(id string) bool { _, ok := m.dead[id]; return ok }); err != nil {
		return nil, err
	}
	out := make([]*delivery, 0, len(ids))
	for _, id := range ids {
		d := redriven(m.dead[id], now)
		m.pend[string(pendingKey(d.Rule, d.EventID))] = *d
		delete(m.dead, id)
		out = append(out, d)
	}
	return out, nil
}

func (m *memStore) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.isClosed = true
	return nil
}

func dedupe(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}

var (
	bucketPending = []byte("pending")
	bucketDead    = []byte("dead")
)

// boltStore keeps deliveries and dead letters in one bbolt file. Put's writes commit
// (fsync) before Put returns; concurrent Puts share one commit (group commit, without
// the fixed delay of bolt's Batch). Completed deliveries are removed by one goroutine
// in group commits too, asynchronously: losing a removal in a crash only means one
// more delivery, which at-least-once allows, and it keeps fsyncs off the delivery path.
type boltStore struct {
	db *bolt.DB

	mu     sync.RWMutex // guards closed against sends on the channels below
	closed bool
	adds   chan addReq
	acks   chan []byte
	wg     sync.WaitGroup
}

type addReq struct {
	keys, vals [][]byte
	arch       []archivedEvent // archived in the same commit
	done       chan error
}

const maxGroup = 1024

// boltOpenTimeout turns "another process has this bus open" into an error instead of a
// hang on bbolt's file lock, while tolerating a previous process still exiting.
var boltOpenTimeout = 2 * time.Second

var _ store = (*boltStore)(nil)

func openBoltStore(path string) (*boltStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	// The freelist is rebuilt from the pages on open, so writing it on every commit
	// (bbolt's default) costs page writes and protects nothing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: boltOpenTimeout, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, err
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketPending, bucketDead} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	s := &boltStore{db: db, adds: make(chan addReq, maxGroup), acks: make(chan []byte, 4*maxGroup)}
	s.wg.Add(1)
	go s.commitLoop()
	return s, nil
}

// commitLoop writes whatever adds and removals have queued up in one transaction, so
// concurrent Puts and completed deliveries share fsyncs. It ends when both channels
// are closed and drained.
func (s *boltStore) commitLoop() {
	defer s.wg.Done()
	adds, acks := s.adds, s.acks
	for adds != nil || acks != nil {
		var group []addReq
		var keys [][]byte
		add := func(r addReq, ok bool) {
			if !ok {
				adds = nil
				return
			}
			group = append(group, r)
		}
		ack := func(k []byte, ok bool) {
			if !ok {
				acks = nil
				return
			}
			keys = append(keys, k)
		}
		// Block for the first item, then take whatever else is already queued.
		select {
		case r, ok := <-adds:
			add(r, ok)
		case k, ok := <-acks:
			ack(k, ok)
		}
	more:
		for len(group)+len(keys) < maxGroup {
			select {
			case r, ok := <-adds:
				add(r, ok)
			case k, ok := <-acks:
				ack(k, ok)
			default:
				break more
			}
		}
		if len(group)+len(keys) == 0 {
			continue // only closed channels were seen
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketPending)
			for _, r := range group {
				for i, k := range r.keys {
					if err := b.Put(k, r.vals[i]); err != nil {
						return err
					}
				}
				if err := putArchived(tx, r.arch); err != nil {
					return err
				}
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		// A failed removal only causes a redelivery after restart; a failed add is
		// reported to its Put.
		for _, r := range group {
			r.done <- err
		}
	}
}

func (s *boltStore) addPending(ds []*delivery) error { return s.addPendingArchived(ds, nil) }

// addPendingArchived commits deliveries and archived events in one group commit.
func (s *boltStore) addPendingArchived(ds []*delivery, arch []archivedEvent) error {
	req := addReq{keys: make([][]byte, len(ds)), vals: make([][]byte, len(ds)), arch: arch, done: make(chan error, 1)}
	for i, d := range ds {
		v, err := json.Marshal(d)
		if err != nil {
			return err
		}
		req.keys[i], req.vals[i] = pendingKey(d.Rule, d.EventID), v
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.adds <- req
	s.mu.RUnlock()
	return <-req.done
}

func (s *boltStore) updatePending(d *delivery) error {
	v, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPending)
		k := pendingKey(d.Rule, d.EventID)
		if b.Get(k) == nil {
			return nil // already done or dead-lettered elsewhere
		}
		return b.Put(k, v)
	})
}

func (s *boltStore) removePending(rule, eventID string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.acks <- pendingKey(rule, eventID)
	return nil
}

func (s *boltStore) pending(rule string) ([]*delivery, error) {
	var out []*delivery
	prefix := []byte(rule + "\x00")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPending).Cursor()
		for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
			var d delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode pending delivery %q: %w", k, err)
			}
			out = append(out, &d)
		}
		return nil
	})
	return out, err
}

func (s *boltStore) moveToDead(rec deadRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketPending).Delete(pendingKey(rec.Rule, rec.EventID)); err != nil {
			return err
		}
		return tx.Bucket(bucketDead).Put([]byte(rec.ID), v)
	})
}

func (s *boltStore) deadLetters() ([]deadRecord, error) {
	var out []deadRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(k, v []byte) error {
			var rec deadRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode dead letter %q: %w", k, err)
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

func (s *boltStore) deleteDead(ids []string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		dead := tx.Bucket(bucketDead)
		for _, id := range ids {
			if err := dead.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *boltStore) redrive(ids []string, now time.Time) ([]*delivery, error) {
	var out []*delivery
	err := s.db.Update(func(tx *bolt.Tx) error {
		out = nil
		dead := tx.Bucket(bucketDead)
		pend := tx.Bucket(bucketPending)
		sel := ids
		if len(sel) == 0 {
			if err := dead.ForEach(func(k, _ []byte) error { sel = append(sel, string(k)); return nil }); err != nil {
				return err
			}
		}
		sel = dedupe(sel)
		if err := missingIDs(sel, func(id string) bool { return dead.Get([]byte(id)) != nil }); err != nil {
			return err
		}
		for _, id := range sel {
			var rec deadRecord
			if err := json.Unmarshal(dead.Get([]byte(id)), &rec); err != nil {
				return fmt.Errorf("decode dead letter %s: %w", id, err)
			}
			d := redriven(rec, now)
			v, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if err := pend.Put(pendingKey(d.Rule, d.EventID), v); err != nil {
				return err
			}
			if err := dead.Delete([]byte(id)); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

func (s *boltStore) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.adds)
	close(s.acks)
	s.mu.Unlock()
	s.wg.Wait() // queued adds and removals are committed before the file closes
	return s.db.Close()
}
