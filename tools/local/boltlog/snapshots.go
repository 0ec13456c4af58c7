package boltlog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/concertsys/platform/eventlog"
)

var _ eventlog.SnapshotStore = (*Snapshots)(nil)

var snapshotsBucket = []byte("snapshots") // aggregate id -> version, state version, state

// Snapshots is the embedded snapshot store: one bbolt file of its own, apart from the
// log's, so the log's file stays append-only and its feed (what the pipe forwards to
// the bus) never sees a snapshot. It is safe for concurrent use.
//
// A snapshot only saves folding: losing one costs a longer fold, never a wrong state.
// So Save does not wait for an fsync on the command's path: it leaves the snapshot
// in memory (the newest per aggregate, where Latest sees it at once) and a writer
// commits whatever is pending at most every snapshotFlushInterval, in one transaction
// (one fsync for many aggregates). Close commits what is left; a crash loses at most
// the last interval's snapshots.
type Snapshots struct {
	db *bolt.DB

	mu      sync.Mutex
	pending map[string]eventlog.Snapshot
	wake    chan struct{} // a token: something is pending
	stop    chan struct{}
	done    chan struct{}
	closed  bool
}

// snapshotFlushInterval bounds how long a saved snapshot waits in memory: long enough
// to gather many aggregates' snapshots into one commit, short enough that a restart
// rarely folds more than a few events extra.
const snapshotFlushInterval = 50 * time.Millisecond

// OpenSnapshots opens (creating if needed) the snapshot store in the file at path.
func OpenSnapshots(path string) (*Snapshots, error) {
	// The freelist is rebuilt from the pages on open, so writing it on every commit
	// (bbolt's default) costs page writes and protects nothing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open snapshot store %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(snapshotsBucket)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("init snapshot store %s: %w", path, err)
	}
	s := &Snapshots{db: db, pending: map[string]eventlog.Snapshot{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.writer()
	return s, nil
}

// Close commits the pending snapshots and closes the file.
func (s *Snapshots) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	err := s.flush()
	return errors.Join(err, s.db.Close())
}

func (s *Snapshots) writer() {
	defer close(s.done)
	for {
		select {
		case <-s.wake:
		case <-s.stop:
			return
		}
		select {
		case <-time.After(snapshotFlushInterval):
		case <-s.stop:
			return // Close flushes
		}
		_ = s.flush()
	}
}

// flush commits the pending snapshots in one transaction. A failed commit keeps them
// pending (unless a newer one arrived meanwhile) for the next flush.
func (s *Snapshots) flush() error {
	s.mu.Lock()
	batch := s.pending
	s.pending = map[string]eventlog.Snapshot{}
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(snapshotsBucket)
		for _, snap := range batch {
			if err := putSnapshot(b, snap); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.mu.Lock()
		for id, snap := range batch {
			if cur, ok := s.pending[id]; !ok || cur.Version < snap.Version {
				s.pending[id] = snap
			}
		}
		s.mu.Unlock()
		s.signal()
		return fmt.Errorf("commit snapshots: %w", err)
	}
	return nil
}

func (s *Snapshots) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func putSnapshot(b *bolt.Bucket, snap eventlog.Snapshot) error {
	if cur := b.Get([]byte(snap.AggregateID)); len(cur) >= 16 && int64(binary.BigEndian.Uint64(cur)) > snap.Version {
		return nil // never go back in time
	}
	v := make([]byte, 16, 16+len(snap.State))
	binary.BigEndian.PutUint64(v, uint64(snap.Version))
	binary.BigEndian.PutUint64(v[8:], uint64(int64(snap.StateVersion)))
	return b.Put([]byte(snap.AggregateID), append(v, snap.State...))
}

// Save stores snap unless a later snapshot of the aggregate is stored; it is durable
// within snapshotFlushInterval (see Snapshots).
func (s *Snapshots) Save(ctx context.Context, snap eventlog.Snapshot) error {
	if err := eventlog.ValidateSnapshot(snap); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	snap.State = append(json.RawMessage(nil), snap.State...) // the caller may reuse its buffer
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSnapshotsClosed
	}
	if cur, ok := s.pending[snap.AggregateID]; ok && cur.Version > snap.Version {
		return nil // never go back in time
	}
	s.pending[snap.AggregateID] = snap
	s.signal()
	return nil
}

// ErrSnapshotsClosed is returned by Save after Close.
var ErrSnapshotsClosed = errors.New("snapshot store is closed")

// Latest returns the aggregate's snapshot, or eventlog.ErrNoSnapshot.
func (s *Snapshots) Latest(ctx context.Context, aggregateID string) (eventlog.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return eventlog.Snapshot{}, err
	}
	s.mu.Lock()
	snap, ok := s.pending[aggregateID]
	s.mu.Unlock()
	if ok {
		snap.State = append(json.RawMessage(nil), snap.State...)
		return snap, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(snapshotsBucket).Get([]byte(aggregateID))
		if v == nil {
			return eventlog.ErrNoSnapshot
		}
		if len(v) < 16 {
			return fmt.Errorf("snapshot of %s: %d bytes, corrupt", aggregateID, len(v))
		}
		snap = eventlog.Snapshot{
			AggregateID:  aggregateID,
			Version:      int64(binary.BigEndian.Uint64(v)),
			StateVersion: int(int64(binary.BigEndian.Uint64(v[8:]))),
			State:        append(json.RawMessage(nil), v[16:]...),
		}
		return nil
	})
	return snap, err
}
