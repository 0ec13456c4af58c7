package queue

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// store persists messages. Lock order: the broker's lock, then the store's; the
// store never takes the broker's lock, so a caller may hold it while it waits.
type store interface {
	// put commits ms before it returns: SendMessage reports success only for a
	// durable message.
	put(queue string, ms []*Message) error
	// remove deletes ms in a later commit without waiting for it (DeleteMessage,
	// retention): the next one that runs anyway, or one of its own removeDelay
	// later. A removal lost in a crash means the message is received once more after
	// the restart, which SQS's at-least-once delivery allows.
	remove(queue string, ms []*Message)
	// update records ms' bookkeeping (ReceiveCount, FirstReceivedAt, LastError) in
	// the next commit that runs anyway, or at close; never on its own. Lost in a
	// crash, a message counts fewer receives (a later move to the dead-letter queue)
	// and loses its last error note; it is never lost itself. It writes only
	// messages still stored, so it never brings a removed one back.
	update(queue string, ms []*Message)
	// move removes from from src and puts to in dst in one commit, before it returns.
	move(src, dst string, from, to []*Message) error
	close() error
}

type memStore struct{}

func (memStore) put(string, []*Message) error                      { return nil }
func (memStore) remove(string, []*Message)                         {}
func (memStore) update(string, []*Message)                         {}
func (memStore) move(string, string, []*Message, []*Message) error { return nil }
func (memStore) close() error                                      { return nil }

// boltStore keeps one bucket per queue, keyed by the message's sequence number. One
// goroutine commits (commitLoop): it waits for the first queued write, takes every
// write queued by then, commits them in one transaction (one fsync pair) and answers
// the waiters. A lone send is not held back, and a busy broker batches by itself:
// whatever queues up during one fsync shares the next. Removals wake it only after
// removeDelay, so on a quiet broker a message costs one commit (its send's), its
// delete riding on the next send's.
type boltStore struct {
	db *bolt.DB

	mu     sync.Mutex
	ops    []storeOp // in call order
	dirty  map[dirtyKey]Message
	closed bool
	wake   chan struct{} // a token when a send or move, or closing, waits
	// flush wakes the loop removeDelay after a removal queued; armed says it runs.
	flush  *time.Timer
	armed  bool
	exited chan struct{}
}

// removeDelay bounds how long a removal waits for a commit to ride on: what a crash
// can redeliver beyond the deletes in flight.
const removeDelay = 50 * time.Millisecond

// storeOp deletes del from the bucket delFrom, then puts put into putTo; done, when
// set, receives the commit's result.
type storeOp struct {
	delFrom string
	del     []uint64
	putTo   string
	put     []record
	done    chan error
}

type record struct {
	seq uint64
	val []byte
}

type dirtyKey struct {
	queue string
	seq   uint64
}

func openBoltStore(path string) (*boltStore, error) {
	// The freelist is rebuilt from the pages on open, so writing it on every commit
	// (bbolt's default) costs page writes and protects nothing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("open queue store %s: %w", path, err)
	}
	s := &boltStore{db: db, dirty: map[dirtyKey]Message{}, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	s.flush = time.AfterFunc(time.Hour, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.signal()
	})
	s.flush.Stop()
	go s.commitLoop()
	return s, nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func encodeAll(ms []*Message) []record {
	out := make([]record, len(ms))
	for i, m := range ms {
		out[i] = record{seq: m.Seq, val: encodeMessage(nil, m)}
	}
	return out
}

func seqs(ms []*Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

// enqueue queues op for the commit loop; false once the store is closed.
func (s *boltStore) enqueue(op storeOp) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	// A removed message's pending bookkeeping is moot.
	for _, seq := range op.del {
		delete(s.dirty, dirtyKey{op.delFrom, seq})
	}
	s.ops = append(s.ops, op)
	switch {
	case op.done != nil:
		s.signal()
	case !s.armed:
		s.armed = true
		s.flush.Reset(removeDelay)
	}
	return true
}

// signal wakes the commit loop. s.mu is held.
func (s *boltStore) signal() {
	select {
	case s.wake <- struct{}{}:
	default: // already woken
	}
}

func (s *boltStore) put(queue string, ms []*Message) error {
	op := storeOp{putTo: queue, put: encodeAll(ms), done: make(chan error, 1)}
	if !s.enqueue(op) {
		return ErrClosed
	}
	return <-op.done
}

func (s *boltStore) remove(queue string, ms []*Message) {
	s.enqueue(storeOp{delFrom: queue, del: seqs(ms)})
}

func (s *boltStore) update(queue string, ms []*Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for _, m := range ms {
		s.dirty[dirtyKey{queue, m.Seq}] = *m
	}
}

func (s *boltStore) move(src, dst string, from, to []*Message) error {
	op := storeOp{delFrom: src, del: seqs(from), putTo: dst, put: encodeAll(to), done: make(chan error, 1)}
	if !s.enqueue(op) {
		return ErrClosed
	}
	return <-op.done
}

// commitLoop commits queued writes in groups until the store closes, then commits
// what is left, the pending bookkeeping too, and exits.
func (s *boltStore) commitLoop() {
	defer close(s.exited)
	var spare []storeOp
	for {
		<-s.wake
		// Senders woken by the previous commit are runnable now: let them queue
		// before taking the group (a yield, not a fixed delay).
		runtime.Gosched()
		s.mu.Lock()
		ops, closing := s.ops, s.closed
		s.ops, s.armed = spare[:0], false // a flush firing later finds nothing to do
		var dirty map[dirtyKey]Message
		if (len(ops) > 0 || closing) && len(s.dirty) > 0 {
			dirty, s.dirty = s.dirty, map[dirtyKey]Message{}
		}
		s.mu.Unlock()
		if len(ops) > 0 || len(dirty) > 0 {
			err := s.commit(ops, dirty)
			// A failed commit fails every send and move in it; its removals and
			// bookkeeping are lost, which means redelivery, never loss.
			for _, op := range ops {
				if op.done != nil {
					op.done <- err
				}
			}
		}
		clear(ops)
		spare = ops
		if closing {
			return
		}
	}
}

func (s *boltStore) commit(ops []storeOp, dirty map[dirtyKey]Message) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		buckets := map[string]*bolt.Bucket{}
		bucket := func(name string) (*bolt.Bucket, error) {
			if bk, ok := buckets[name]; ok {
				return bk, nil
			}
			bk, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return nil, fmt.Errorf("bucket %s: %w", name, err)
			}
			buckets[name] = bk
			return bk, nil
		}
		var key [8]byte
		for _, op := range ops {
			if len(op.del) > 0 {
				bk, err := bucket(op.delFrom)
				if err != nil {
					return err
				}
				for _, seq := range op.del {
					binary.BigEndian.PutUint64(key[:], seq)
					if err := bk.Delete(key[:]); err != nil {
						return err
					}
				}
			}
			if len(op.put) > 0 {
				bk, err := bucket(op.putTo)
				if err != nil {
					return err
				}
				for _, r := range op.put {
					if err := bk.Put(seqKey(r.seq), r.val); err != nil {
						return err
					}
				}
			}
		}
		for k, m := range dirty {
			bk := tx.Bucket([]byte(k.queue))
			if bk == nil {
				continue
			}
			binary.BigEndian.PutUint64(key[:], k.seq)
			if bk.Get(key[:]) == nil {
				continue // deleted or moved meanwhile: stays gone
			}
			if err := bk.Put(seqKey(k.seq), encodeMessage(nil, &m)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *boltStore) load(each func(queue string, m *Message)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			return bk.ForEach(func(k, v []byte) error {
				if len(k) != 8 {
					return fmt.Errorf("queue %s: key %x is not a sequence number: %w", name, k, errBadRecord)
				}
				m, err := decodeMessage(v)
				if err != nil {
					return fmt.Errorf("queue %s message %x: %w", name, k, err)
				}
				m.Seq = binary.BigEndian.Uint64(k)
				each(string(name), m)
				return nil
			})
		})
	})
}

func (s *boltStore) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.flush.Stop()
	s.signal()
	s.mu.Unlock()
	<-s.exited // queued writes and bookkeeping are committed before the file closes
	return s.db.Close()
}

// A stored message is recordVersion, then ReceiveCount (uvarint), SentAt,
// FirstReceivedAt and DeadLetteredAt (varint Unix nanoseconds, 0 for none), ID,
// TraceHeader, LastError and SourceQueue (uvarint length, bytes), then the body's
// bytes to the end: the body (an event's JSON) is stored as is, not escaped into a
// JSON document. Seq is the key. VisibleAt and the receipt are not stored: after a
// restart every message is visible, as a received one becomes once its visibility
// timeout ends (at least once).
const recordVersion = 1

var (
	errBadRecord = errors.New("malformed message record")
	// ErrOldStoreFormat: the file was written by an earlier version, which stored
	// messages as JSON. devstack's data directories are disposable: delete the file.
	ErrOldStoreFormat = errors.New("queue store holds messages in an older format (JSON); delete the file to start afresh")
)

func encodeMessage(dst []byte, m *Message) []byte {
	n := 1 + 4*binary.MaxVarintLen64 + len(m.ID) + len(m.TraceHeader) + len(m.LastError) + len(m.SourceQueue) + len(m.Body)
	if cap(dst)-len(dst) < n {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(m.ReceiveCount))
	for _, t := range []time.Time{m.SentAt, m.FirstReceivedAt, m.DeadLetteredAt} {
		var ns int64
		if !t.IsZero() {
			ns = t.UnixNano()
		}
		dst = binary.AppendVarint(dst, ns)
	}
	for _, s := range []string{m.ID, m.TraceHeader, m.LastError, m.SourceQueue} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return append(dst, m.Body...)
}

func decodeMessage(v []byte) (*Message, error) {
	if len(v) == 0 {
		return nil, errBadRecord
	}
	switch v[0] {
	case recordVersion:
	case '{':
		return nil, ErrOldStoreFormat
	default:
		return nil, fmt.Errorf("%w: unknown record version %d", errBadRecord, v[0])
	}
	v = v[1:]
	var m Message
	rc, n := binary.Uvarint(v)
	if n <= 0 || rc > MaxReceiveCountLimit+1<<20 {
		return nil, errBadRecord
	}
	m.ReceiveCount, v = int(rc), v[n:]
	for _, t := range []*time.Time{&m.SentAt, &m.FirstReceivedAt, &m.DeadLetteredAt} {
		ns, n := binary.Varint(v)
		if n <= 0 {
			return nil, errBadRecord
		}
		if ns != 0 {
			*t = time.Unix(0, ns).UTC()
		}
		v = v[n:]
	}
	for _, s := range []*string{&m.ID, &m.TraceHeader, &m.LastError, &m.SourceQueue} {
		l, n := binary.Uvarint(v)
		if n <= 0 || l > uint64(len(v)-n) {
			return nil, errBadRecord
		}
		*s, v = string(v[n:n+int(l)]), v[n+int(l):]
	}
	m.Body = string(v)
	return &m, nil
}

// newID is a random UUID (version 4), as SQS message ids are.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
