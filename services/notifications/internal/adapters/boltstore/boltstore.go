// Package boltstore is the connection store in an embedded bbolt file, for devstack.
// Every operation is one bbolt transaction, so it is atomic and durable on return,
// except ConfirmDelivery, which is bookkeeping committed with the next transaction.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/concertsys/services/notifications/internal/app"
)

var _ app.Store = (*Store)(nil)

var (
	bucketConnections        = []byte("connections")         // connID -> connectionRecord
	bucketConcertSubscribers = []byte("topic_subscribers")   // concertID \x00 connID -> expiresAt
	bucketConnectionConcerts = []byte("connection_topics")   // connID \x00 concertID -> expiresAt
	bucketDeliveries         = []byte("connection_versions") // connID \x00 concertID -> deliveryRecord
)

const sep = "\x00"

// Store is the bbolt adapter of app.Store.
type Store struct {
	db *bolt.DB

	// confirms are the ConfirmDelivery calls not committed yet (by delivery key),
	// which ClaimDelivery already honours; flushing says a goroutine commits them.
	mu       sync.Mutex
	confirms map[string]pendingConfirm
	flushing bool
	flushes  sync.WaitGroup
}

// pendingConfirm is the claim a ConfirmDelivery ends.
type pendingConfirm struct {
	version    int64
	leaseUntil int64 // unix nanoseconds
}

// Open opens (creating if needed) the store file at path.
func Open(path string) (*Store, error) {
	// The freelist is rebuilt from the pages on open, so writing it on every commit
	// (bbolt's default) costs page writes and protects nothing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open connection store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketConnections, bucketConcertSubscribers, bucketConnectionConcerts, bucketDeliveries} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create buckets in %s: %w", path, err)
	}
	// Batched writes (delivery claims of one fan-out) wait at most this long for
	// company; bbolt's 10ms default would dominate a sequential fan-out.
	db.MaxBatchDelay = time.Millisecond
	return &Store{db: db, confirms: map[string]pendingConfirm{}}, nil
}

// Close commits the pending confirmations, then closes the file.
func (s *Store) Close() error {
	s.flushes.Wait()
	return s.db.Close()
}

type connectionRecord struct {
	ConnectedAt time.Time `json:"connectedAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

type deliveryRecord struct {
	Version    int64 `json:"version"`
	LeaseUntil int64 `json:"leaseUntil"` // unix nanoseconds; 0 when confirmed or released
	ExpiresAt  int64 `json:"expiresAt"`  // unix seconds
}

func key(a, b string) []byte { return []byte(a + sep + b) }

func encodeTime(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.Unix())) }

func expired(v []byte, now time.Time) bool {
	return len(v) == 8 && int64(binary.BigEndian.Uint64(v)) <= now.Unix()
}

// PutConnection implements app.Store.
func (s *Store) PutConnection(ctx context.Context, c app.Connection) error {
	rec, err := json.Marshal(connectionRecord{ConnectedAt: c.ConnectedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC()})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketConnections).Put([]byte(c.ID), rec)
	})
}

// DeleteConnection implements app.Store.
func (s *Store) DeleteConnection(ctx context.Context, connectionID string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketConnections).Delete([]byte(connectionID)); err != nil {
			return err
		}
		concertIDs, err := deletePrefix(tx.Bucket(bucketConnectionConcerts), connectionID)
		if err != nil {
			return err
		}
		for _, concertID := range concertIDs {
			if err := tx.Bucket(bucketConcertSubscribers).Delete(key(concertID, connectionID)); err != nil {
				return err
			}
		}
		_, err = deletePrefix(tx.Bucket(bucketDeliveries), connectionID)
		return err
	})
}

// deletePrefix deletes every key "prefix\x00rest" and returns the rests.
func deletePrefix(b *bolt.Bucket, prefix string) ([]string, error) {
	p := []byte(prefix + sep)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	rests := make([]string, 0, len(keys))
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
		rests = append(rests, string(k[len(p):]))
	}
	return rests, nil
}

func listPrefix(b *bolt.Bucket, prefix string, now time.Time) []string {
	p := []byte(prefix + sep)
	var out []string
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if !expired(v, now) {
			out = append(out, string(k[len(p):]))
		}
	}
	return out
}

// Subscribe implements app.Store.
func (s *Store) Subscribe(ctx context.Context, connectionID, concertID string, expiresAt time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketConnections).Get([]byte(connectionID)) == nil {
			return app.ErrConnectionNotFound
		}
		exp := encodeTime(expiresAt)
		if err := tx.Bucket(bucketConnectionConcerts).Put(key(connectionID, concertID), exp); err != nil {
			return err
		}
		return tx.Bucket(bucketConcertSubscribers).Put(key(concertID, connectionID), exp)
	})
}

// Unsubscribe implements app.Store.
func (s *Store) Unsubscribe(ctx context.Context, connectionID, concertID string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketConnectionConcerts).Delete(key(connectionID, concertID)); err != nil {
			return err
		}
		return tx.Bucket(bucketConcertSubscribers).Delete(key(concertID, connectionID))
	})
}

// Subscriptions implements app.Store.
func (s *Store) Subscriptions(ctx context.Context, connectionID string, now time.Time) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		out = listPrefix(tx.Bucket(bucketConnectionConcerts), connectionID, now)
		return nil
	})
	return out, err
}

// Subscribers implements app.Store.
func (s *Store) Subscribers(ctx context.Context, concertID string, now time.Time) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		out = listPrefix(tx.Bucket(bucketConcertSubscribers), concertID, now)
		return nil
	})
	return out, err
}

// ClaimDelivery implements app.Store.
func (s *Store) ClaimDelivery(ctx context.Context, d app.Delivery, now, leaseUntil, expiresAt time.Time) (app.Claim, error) {
	var claim app.Claim
	var confirmed map[string]pendingConfirm
	// Batch: concurrent claims of one fan-out share a transaction and one fsync, and
	// the pending confirmations ride on it. Batch may run the function again alone,
	// so it sets claim and confirmed from scratch.
	err := s.db.Batch(func(tx *bolt.Tx) error {
		var err error
		if confirmed, err = s.applyConfirms(tx); err != nil {
			return err
		}
		b := tx.Bucket(bucketDeliveries)
		k := key(d.ConnectionID, d.ConcertID)
		var prev deliveryRecord
		if v := b.Get(k); v != nil {
			if err := json.Unmarshal(v, &prev); err != nil {
				return fmt.Errorf("decode delivery record: %w", err)
			}
		}
		switch {
		case prev.Version >= d.Version:
			claim = app.Claim{Outcome: app.Superseded, Previous: prev.Version}
			return nil
		case prev.LeaseUntil > now.UnixNano():
			claim = app.Claim{Outcome: app.InFlight, Previous: prev.Version}
			return nil
		}
		rec, err := json.Marshal(deliveryRecord{Version: d.Version, LeaseUntil: leaseUntil.UnixNano(), ExpiresAt: expiresAt.Unix()})
		if err != nil {
			return err
		}
		claim = app.Claim{Outcome: app.Claimed, Previous: prev.Version, LeaseUntil: time.Unix(0, leaseUntil.UnixNano())}
		return b.Put(k, rec)
	})
	if err != nil {
		return app.Claim{}, fmt.Errorf("claim delivery: %w", err)
	}
	s.forgetConfirms(confirmed)
	return claim, nil
}

// ConfirmDelivery implements app.Store without waiting for a commit: the confirmation
// rides on the next claim's commit (or is committed alone after ConfirmDelay), and
// ClaimDelivery honours it at once, so the connection's next version
// never waits for this one's fsync. A crash before the commit loses only the
// confirmation: the claim then holds the connection's next version of the concert
// back until its lease ends (DefaultDeliveryLease), the fan-out fails meanwhile and
// its queue delivers it again after the visibility timeout (longer than the lease),
// so the version arrives late, never twice and never out of order. The DynamoDB
// adapter confirms synchronously.
func (s *Store) ConfirmDelivery(ctx context.Context, d app.Delivery, c app.Claim) error {
	s.mu.Lock()
	s.confirms[string(key(d.ConnectionID, d.ConcertID))] = pendingConfirm{version: d.Version, leaseUntil: c.LeaseUntil.UnixNano()}
	start := !s.flushing
	s.flushing = true
	if start {
		s.flushes.Add(1)
	}
	s.mu.Unlock()
	if start {
		go s.flushConfirms()
	}
	return nil
}

// ConfirmDelay is how long confirmations wait for a claim's commit to ride on before
// they are committed alone: a fan-out's next claims usually come sooner.
const ConfirmDelay = 20 * time.Millisecond

// flushConfirms commits the confirmations still pending after ConfirmDelay, until
// none is left.
func (s *Store) flushConfirms() {
	defer s.flushes.Done()
	for {
		time.Sleep(ConfirmDelay)
		s.mu.Lock()
		if len(s.confirms) == 0 {
			s.flushing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		var applied map[string]pendingConfirm
		err := s.db.Batch(func(tx *bolt.Tx) error {
			var err error
			applied, err = s.applyConfirms(tx)
			return err
		})
		if err != nil {
			// A closed file or a record that does not decode: drop them, they are
			// bookkeeping (see ConfirmDelivery).
			s.mu.Lock()
			clear(s.confirms)
			s.mu.Unlock()
			continue
		}
		s.forgetConfirms(applied)
	}
}

// applyConfirms ends in tx the claims of the pending confirmations and returns what
// it applied. A claim taken again, released or deleted since is left alone.
func (s *Store) applyConfirms(tx *bolt.Tx) (map[string]pendingConfirm, error) {
	s.mu.Lock()
	if len(s.confirms) == 0 {
		s.mu.Unlock()
		return nil, nil
	}
	batch := make(map[string]pendingConfirm, len(s.confirms))
	for k, pc := range s.confirms {
		batch[k] = pc
	}
	s.mu.Unlock()
	b := tx.Bucket(bucketDeliveries)
	for k, pc := range batch {
		v := b.Get([]byte(k))
		if v == nil {
			continue
		}
		var rec deliveryRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, fmt.Errorf("decode delivery record: %w", err)
		}
		if rec.Version != pc.version || rec.LeaseUntil != pc.leaseUntil {
			continue
		}
		rec.LeaseUntil = 0
		raw, err := json.Marshal(rec)
		if err != nil {
			return nil, err
		}
		if err := b.Put([]byte(k), raw); err != nil {
			return nil, err
		}
	}
	return batch, nil
}

// forgetConfirms drops the committed confirmations, unless replaced meanwhile.
func (s *Store) forgetConfirms(committed map[string]pendingConfirm) {
	if len(committed) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, pc := range committed {
		if s.confirms[k] == pc {
			delete(s.confirms, k)
		}
	}
}

// ReleaseDelivery implements app.Store.
func (s *Store) ReleaseDelivery(ctx context.Context, d app.Delivery, c app.Claim) error {
	return s.updateOwn(d, c, func(b *bolt.Bucket, k []byte, rec deliveryRecord) error {
		if c.Previous == 0 {
			return b.Delete(k)
		}
		rec.Version, rec.LeaseUntil = c.Previous, 0
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	})
}

// updateOwn applies fn only while the record is still the claim c made; a claim
// whose lease was taken over is left alone.
func (s *Store) updateOwn(d app.Delivery, c app.Claim, fn func(*bolt.Bucket, []byte, deliveryRecord) error) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeliveries)
		k := key(d.ConnectionID, d.ConcertID)
		v := b.Get(k)
		if v == nil {
			return nil
		}
		var rec deliveryRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode delivery record: %w", err)
		}
		if rec.Version != d.Version || rec.LeaseUntil != c.LeaseUntil.UnixNano() {
			return nil
		}
		return fn(b, k, rec)
	})
}

// sweepBatch bounds the rows one sweep transaction deletes, so a large backlog does
// not hold the write lock for long.
const sweepBatch = 1000

// DeleteExpired deletes every row whose expiry is at or before now and returns how
// many it deleted. It is what DynamoDB's Time to Live does on AWS: reads already
// ignore expired rows, and a background process deletes them eventually, each row
// by its own expiry attribute. devstack runs it periodically.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	isExpired := map[string]func(v []byte) bool{
		string(bucketConnections): func(v []byte) bool {
			var rec connectionRecord
			return json.Unmarshal(v, &rec) == nil && !rec.ExpiresAt.IsZero() && !rec.ExpiresAt.After(now)
		},
		string(bucketConcertSubscribers): func(v []byte) bool { return expired(v, now) },
		string(bucketConnectionConcerts): func(v []byte) bool { return expired(v, now) },
		string(bucketDeliveries): func(v []byte) bool {
			var rec deliveryRecord
			return json.Unmarshal(v, &rec) == nil && rec.ExpiresAt != 0 && rec.ExpiresAt <= now.Unix()
		},
	}
	total := 0
	for name, exp := range isExpired {
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			n := 0
			err := s.db.Update(func(tx *bolt.Tx) error {
				n = 0
				b := tx.Bucket([]byte(name))
				var keys [][]byte
				c := b.Cursor()
				for k, v := c.First(); k != nil && len(keys) < sweepBatch; k, v = c.Next() {
					if exp(v) {
						keys = append(keys, bytes.Clone(k))
					}
				}
				for _, k := range keys {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				n = len(keys)
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("delete expired rows of %s: %w", name, err)
			}
			total += n
			if n < sweepBatch {
				break
			}
		}
	}
	return total, nil
}
