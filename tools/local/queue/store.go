package queue

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// store persists messages; each method is atomic. The in-memory broker keeps its
// messages in the queues alone.
type store interface {
	put(queue string, ms ...*Message) error
	remove(queue string, ms ...*Message) error
	// move removes from from src and puts to in dst, in one transaction.
	move(src, dst string, from, to []*Message) error
	close() error
}

type memStore struct{}

func (memStore) put(string, ...*Message) error                     { return nil }
func (memStore) remove(string, ...*Message) error                  { return nil }
func (memStore) move(string, string, []*Message, []*Message) error { return nil }
func (memStore) close() error                                      { return nil }

// boltStore keeps one bucket per queue, keyed by the message's sequence number.
// Writes go through bbolt's Batch, so concurrent senders, receivers and deleters
// share one fsync.
type boltStore struct{ db *bolt.DB }

func openBoltStore(path string) (*boltStore, error) {
	// The freelist is rebuilt from the pages on open, so writing it on every commit
	// (bbolt's default) costs page writes and protects nothing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open queue store %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	return &boltStore{db: db}, nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func putAll(tx *bolt.Tx, queue string, ms []*Message) error {
	bk, err := tx.CreateBucketIfNotExists([]byte(queue))
	if err != nil {
		return err
	}
	for _, m := range ms {
		v, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := bk.Put(seqKey(m.Seq), v); err != nil {
			return err
		}
	}
	return nil
}

func removeAll(tx *bolt.Tx, queue string, ms []*Message) error {
	bk := tx.Bucket([]byte(queue))
	if bk == nil {
		return nil
	}
	for _, m := range ms {
		if err := bk.Delete(seqKey(m.Seq)); err != nil {
			return err
		}
	}
	return nil
}

func (s *boltStore) put(queue string, ms ...*Message) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return putAll(tx, queue, ms) })
}

func (s *boltStore) remove(queue string, ms ...*Message) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return removeAll(tx, queue, ms) })
}

func (s *boltStore) move(src, dst string, from, to []*Message) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		if err := removeAll(tx, src, from); err != nil {
			return err
		}
		return putAll(tx, dst, to)
	})
}

func (s *boltStore) load(each func(queue string, m *Message)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			return bk.ForEach(func(k, v []byte) error {
				var m Message
				if err := json.Unmarshal(v, &m); err != nil {
					return fmt.Errorf("queue %s message %x: %w", name, k, err)
				}
				each(string(name), &m)
				return nil
			})
		})
	})
}

func (s *boltStore) close() error { return s.db.Close() }

// newID is a random UUID (version 4), as SQS message ids are.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
