// Package boltstore is the sales store in a bbolt file, for devstack: one
// transaction per Record (the applied marker, the hour and the totals together).
package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/concertsys/services/sales/internal/app"
	"github.com/concertsys/services/sales/internal/domain"
)

var (
	bucketAggregates = []byte("aggregates") // aggregate id -> bucket: "#totals" and RFC 3339 hours -> sums
	bucketApplied    = []byte("applied")    // aggregate id \x00 version -> event id
	bucketMeta       = []byte("meta")       // "catch-up" -> record
	keyTotals        = []byte("#totals")
	keyCatchUp       = []byte("catch-up")
)

// Store is app.Store on bbolt.
type Store struct{ db *bolt.DB }

var _ app.Store = (*Store)(nil)

// Open opens (creating if needed) the store at path.
func Open(path string) (*Store, error) {
	// The freelist is rebuilt from the pages on open, so writing it on every commit
	// (bbolt's default) costs page writes and protects nothing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketAggregates, bucketApplied, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the file.
func (s *Store) Close() error { return s.db.Close() }

func add(b *bolt.Bucket, k []byte, m domain.Measurement) error {
	var cur domain.Measurement
	if v := b.Get(k); v != nil {
		if err := json.Unmarshal(v, &cur); err != nil {
			return fmt.Errorf("decode %s: %w", k, err)
		}
	}
	cur.Amount += m.Amount
	cur.Events += m.Events
	v, _ := json.Marshal(cur) // two ints always marshal
	return b.Put(k, v)
}

// Record adds e once. Concurrent deliveries share a commit (bbolt's Batch: one
// fsync for many events); Batch may run fn again alone after a failure, so fn sets
// added afresh.
func (s *Store) Record(_ context.Context, e domain.Entry) (bool, error) {
	mk := fmt.Appendf(nil, "%s\x00%020d", e.AggregateID, e.Version)
	// A duplicate (a redelivery, a replay) is answered by a read: no commit, no fsync.
	var seen bool
	if err := s.db.View(func(tx *bolt.Tx) error { seen = tx.Bucket(bucketApplied).Get(mk) != nil; return nil }); err != nil {
		return false, fmt.Errorf("record: %w", err)
	}
	if seen {
		return false, nil
	}
	var added bool
	err := s.db.Batch(func(tx *bolt.Tx) error {
		added = false
		applied := tx.Bucket(bucketApplied)
		if applied.Get(mk) != nil {
			return nil // recorded before: a duplicate or a replayed event
		}
		if err := applied.Put(mk, []byte(e.EventID)); err != nil {
			return err
		}
		agg, err := tx.Bucket(bucketAggregates).CreateBucketIfNotExists([]byte(e.AggregateID))
		if err != nil {
			return err
		}
		if err := add(agg, keyTotals, e.Measurement); err != nil {
			return err
		}
		if e.Amount != 0 || e.Events != 0 {
			if err := add(agg, []byte(e.Hour.UTC().Format(time.RFC3339)), e.Measurement); err != nil {
				return err
			}
		}
		added = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record: %w", err)
	}
	return added, nil
}

// Totals reads the aggregate's totals.
func (s *Store) Totals(_ context.Context, id string) (domain.Measurement, error) {
	var m domain.Measurement
	err := s.db.View(func(tx *bolt.Tx) error {
		agg := tx.Bucket(bucketAggregates).Bucket([]byte(id))
		if agg == nil {
			return app.ErrNotFound
		}
		return json.Unmarshal(agg.Get(keyTotals), &m)
	})
	return m, err
}

// Hours lists the aggregate's hours from from on (RFC 3339 UTC keys sort by time).
func (s *Store) Hours(_ context.Context, id string, from time.Time, limit int) ([]app.Bucket, error) {
	var out []app.Bucket
	err := s.db.View(func(tx *bolt.Tx) error {
		agg := tx.Bucket(bucketAggregates).Bucket([]byte(id))
		if agg == nil {
			return nil
		}
		c := agg.Cursor()
		for k, v := c.Seek([]byte(from.UTC().Format(time.RFC3339))); k != nil && len(out) < limit; k, v = c.Next() {
			if k[0] == '#' {
				continue
			}
			h, err := time.Parse(time.RFC3339, string(k))
			if err != nil {
				return fmt.Errorf("decode hour %q: %w", k, err)
			}
			var m domain.Measurement
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode hour %q: %w", k, err)
			}
			out = append(out, app.Bucket{Hour: h, Measurement: m})
		}
		return nil
	})
	return out, err
}

// CatchUp reads the catch-up record.
func (s *Store) CatchUp(_ context.Context) (app.CatchUpRecord, bool, error) {
	var r app.CatchUpRecord
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyCatchUp)
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &r)
	})
	return r, found, err
}

// SaveCatchUp records r unless another replay is recorded.
func (s *Store) SaveCatchUp(_ context.Context, r app.CatchUpRecord) (app.CatchUpRecord, error) {
	out := r
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get(keyCatchUp); v != nil {
			var cur app.CatchUpRecord
			if err := json.Unmarshal(v, &cur); err != nil {
				return fmt.Errorf("decode catch-up: %w", err)
			}
			if cur.ReplayName != r.ReplayName {
				out = cur
				return nil
			}
		}
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return b.Put(keyCatchUp, v)
	})
	if err != nil {
		return app.CatchUpRecord{}, fmt.Errorf("save catch-up: %w", err)
	}
	return out, nil
}
