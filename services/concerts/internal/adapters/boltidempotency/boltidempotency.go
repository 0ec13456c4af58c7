// Package boltidempotency is the embedded (bbolt) idempotency store devstack uses:
// one file, every write a durable transaction, conditions checked inside it.
package boltidempotency

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/concertsys/services/concerts/internal/ports"
)

var _ ports.IdempotencyStore = (*Store)(nil)

var bucket = []byte("idempotency")

// Store keeps records as JSON under their key.
type Store struct {
	db *bolt.DB
}

// Open opens (creating if needed) the store at path and drops records whose
// retention ended, as DynamoDB's TTL would.
func Open(path string, now time.Time) (*Store, error) {
	// The freelist is rebuilt from the pages on open, so writing it on every commit
	// (bbolt's default) costs page writes and protects nothing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open idempotency store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		var expired [][]byte
		err = b.ForEach(func(k, v []byte) error {
			var r record
			if json.Unmarshal(v, &r) == nil && !now.Before(r.ExpiresAt) {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("prepare idempotency store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// record is the stored form; a separate type keeps the file format independent of
// the port.s record.
type record struct {
	Key         string               `json:"key"`
	Fingerprint string               `json:"fingerprint"`
	AggregateID string               `json:"aggregateId"`
	State       string               `json:"state"`
	Token       string               `json:"token"`
	ClaimedAt   time.Time            `json:"claimedAt"`
	LeaseUntil  time.Time            `json:"leaseUntil"`
	ExpiresAt   time.Time            `json:"expiresAt"`
	Response    ports.StoredResponse `json:"response"`
}

func toRecord(r ports.IdempotencyRecord) record {
	return record{Key: r.Key, Fingerprint: r.Fingerprint, AggregateID: r.AggregateID, State: string(r.State), Token: r.Token,
		ClaimedAt: r.ClaimedAt, LeaseUntil: r.LeaseUntil, ExpiresAt: r.ExpiresAt, Response: r.Response}
}

func (r record) app() ports.IdempotencyRecord {
	return ports.IdempotencyRecord{Key: r.Key, Fingerprint: r.Fingerprint, AggregateID: r.AggregateID, State: ports.IdempotencyState(r.State),
		Token: r.Token, ClaimedAt: r.ClaimedAt, LeaseUntil: r.LeaseUntil, ExpiresAt: r.ExpiresAt, Response: r.Response}
}

// Create implements ports.IdempotencyStore.
func (s *Store) Create(ctx context.Context, rec ports.IdempotencyRecord) error {
	return s.update(ctx, rec.Key, func(b *bolt.Bucket, cur *record) error {
		if cur != nil {
			return ports.ErrRecordExists
		}
		return put(b, rec)
	})
}

// Get implements ports.IdempotencyStore.
func (s *Store) Get(ctx context.Context, key string) (ports.IdempotencyRecord, error) {
	if err := ctx.Err(); err != nil {
		return ports.IdempotencyRecord{}, err
	}
	var out ports.IdempotencyRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		cur, err := get(tx.Bucket(bucket), key)
		if err != nil {
			return err
		}
		if cur == nil {
			return ports.ErrRecordNotFound
		}
		out = cur.app()
		return nil
	})
	return out, err
}

// Replace implements ports.IdempotencyStore.
func (s *Store) Replace(ctx context.Context, rec ports.IdempotencyRecord, token string) error {
	return s.update(ctx, rec.Key, func(b *bolt.Bucket, cur *record) error {
		if cur == nil || cur.Token != token {
			return ports.ErrTokenMismatch
		}
		return put(b, rec)
	})
}

// Delete implements ports.IdempotencyStore.
func (s *Store) Delete(ctx context.Context, key, token string) error {
	return s.update(ctx, key, func(b *bolt.Bucket, cur *record) error {
		if cur == nil || cur.Token != token {
			return ports.ErrTokenMismatch
		}
		return b.Delete([]byte(key))
	})
}

func (s *Store) update(ctx context.Context, key string, fn func(b *bolt.Bucket, cur *record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return errors.New("idempotency key is empty")
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		cur, err := get(b, key)
		if err != nil {
			return err
		}
		return fn(b, cur)
	})
}

func get(b *bolt.Bucket, key string) (*record, error) {
	v := b.Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode idempotency record %q: %w", key, err)
	}
	return &r, nil
}

func put(b *bolt.Bucket, rec ports.IdempotencyRecord) error {
	v, err := json.Marshal(toRecord(rec))
	if err != nil {
		return fmt.Errorf("encode idempotency record %q: %w", rec.Key, err)
	}
	return b.Put([]byte(rec.Key), v)
}
