package boltlog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/concertsys/platform/eventlog"
)

var _ eventlog.SnapshotStore = (*Snapshots)(nil)

var snapshotsBucket = []byte("snapshots") // aggregate id -> version, state version, state

// Snapshots is the embedded snapshot store: one bbolt file of its own, apart from the
// log's, so the log's file stays append-only and its feed (what the pipe forwards to
// the bus) never sees a snapshot. It is safe for concurrent use.
type Snapshots struct {
	db *bolt.DB
}

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
	return &Snapshots{db: db}, nil
}

// Close closes the file.
func (s *Snapshots) Close() error { return s.db.Close() }

// Save stores snap unless a later snapshot of the aggregate is stored.
func (s *Snapshots) Save(ctx context.Context, snap eventlog.Snapshot) error {
	if err := eventlog.ValidateSnapshot(snap); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(snapshotsBucket)
		if cur := b.Get([]byte(snap.AggregateID)); len(cur) >= 16 && int64(binary.BigEndian.Uint64(cur)) > snap.Version {
			return nil // never go back in time
		}
		v := make([]byte, 16, 16+len(snap.State))
		binary.BigEndian.PutUint64(v, uint64(snap.Version))
		binary.BigEndian.PutUint64(v[8:], uint64(int64(snap.StateVersion)))
		return b.Put([]byte(snap.AggregateID), append(v, snap.State...))
	})
}

// Latest returns the aggregate's snapshot, or eventlog.ErrNoSnapshot.
func (s *Snapshots) Latest(ctx context.Context, aggregateID string) (eventlog.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return eventlog.Snapshot{}, err
	}
	var snap eventlog.Snapshot
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
