package bus

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Layout of bus.db (format busFormat, kept in bucket "meta" under "format"):
//
//	pending: key → an event, or one delivery of an event to a rule. An accepted event
//	         matched by n rules takes n+1 consecutive keys: the event's JSON, exactly
//	         as targets receive it, once however many rules it matched, then its
//	         deliveries, each a small binary header without the event
//	         (encodePending, whose first byte, pendingVersion, no JSON starts with).
//	         The removal of a delivery that finds no sibling left deletes the event
//	         in the same commit.
//	dead:    dead-letter id → JSON deadRecord (rare; carries its own event)
//	archives, archive/NAME: see archive_store.go
//
// Keys are 8-byte big-endian numbers from one bus-wide counter, so new entries append
// at the right edge of the tree and deliveries done roughly in order are removed at
// its left: a group commit dirties a few pages instead of one leaf per entry, as the
// random keys (rule + event UUID) of format 1 did, and events and deliveries share
// those pages.
const busFormat = "bus/2"

var (
	bucketMeta    = []byte("meta")
	bucketPending = []byte("pending")
	bucketDead    = []byte("dead")
	keyFormat     = []byte("format")
)

// ErrStoreFormat is a bus.db this bus cannot read (written by an older version).
var ErrStoreFormat = errors.New("bus store has an unsupported format")

// appendFill fills the pages of the append-mostly buckets: bbolt's default (0.5)
// leaves every page it splits at the right edge half empty forever.
const appendFill = 0.9

// pendingRef is where a delivery is stored: its own key, its event's key (its
// deliveries follow it) and how many deliveries the event has.
type pendingRef struct {
	key, event uint64
	group      uint32
}

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

// boltStore keeps deliveries and dead letters in one bbolt file. Put's writes commit
// (fsync) before Put returns; concurrent Puts share one commit (group commit, without
// the fixed delay of bolt's Batch). Completed deliveries are removed by one goroutine
// in group commits too, asynchronously: losing a removal in a crash only means one
// more delivery, which at-least-once allows, and it keeps fsyncs off the delivery path.
type boltStore struct {
	db  *bolt.DB
	seq atomic.Uint64 // last key handed out

	mu     sync.RWMutex // guards closed against sends on the channels below
	closed bool
	adds   chan addReq
	acks   chan pendingRef
	wg     sync.WaitGroup

	commits atomic.Uint64 // group commits written, for benchmarks
}

type addReq struct {
	ds     []*delivery
	vals   [][]byte // encoded ds
	events []storedEvent
	arch   []archivedEvent // archived in the same commit
	done   chan error
}

type storedEvent struct {
	key uint64
	raw []byte
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
	var seq uint64
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		switch {
		case meta == nil && (tx.Bucket(bucketPending) != nil || tx.Bucket(bucketDead) != nil):
			return fmt.Errorf("%w: %s was written by an older version of the bus (format 1, want %s); delete it (devstack data directories are disposable)", ErrStoreFormat, path, busFormat)
		case meta == nil:
			m, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			if err := m.Put(keyFormat, []byte(busFormat)); err != nil {
				return err
			}
		case string(meta.Get(keyFormat)) != busFormat:
			return fmt.Errorf("%w: %s has format %q, want %q; delete it (devstack data directories are disposable)", ErrStoreFormat, path, meta.Get(keyFormat), busFormat)
		}
		for _, name := range [][]byte{bucketPending, bucketDead} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		// Recover the key counter: the persisted sequence, or the last key in use.
		pend := tx.Bucket(bucketPending)
		seq = pend.Sequence()
		if k, _ := pend.Cursor().Last(); len(k) == 8 {
			seq = max(seq, binary.BigEndian.Uint64(k))
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	s := &boltStore{db: db, adds: make(chan addReq, maxGroup), acks: make(chan pendingRef, 4*maxGroup)}
	s.seq.Store(seq)
	s.wg.Add(1)
	go s.commitLoop()
	return s, nil
}

// Removals are written at most every ackDelay, or once maxAcks are queued. Each rule
// works through the deliveries at its own pace, so each removes at its own place in
// the tree: a commit with removals dirties a leaf per rule (and merges underfull
// ones), which a few removals riding on every Put's commit would pay again and again.
// A crash loses at most the removals of the last ackDelay: those deliveries are made
// again, which at-least-once allows.
const (
	ackDelay = 100 * time.Millisecond
	maxAcks  = 4 * maxGroup
)

// commitLoop writes whatever adds have queued up in one transaction, so concurrent
// Puts share fsyncs, with the removals that are due (see ackDelay). It ends when both
// channels are closed and drained, writing every removal left.
func (s *boltStore) commitLoop() {
	defer s.wg.Done()
	adds, acks := s.adds, s.acks
	var refs []pendingRef // removals not yet written
	ackWait := time.NewTimer(time.Hour)
	ackWait.Stop()
	waiting, due := false, false
	for adds != nil || acks != nil || len(refs) > 0 {
		var group []addReq
		add := func(r addReq, ok bool) {
			if !ok {
				adds = nil
				return
			}
			group = append(group, r)
		}
		ack := func(ref pendingRef, ok bool) {
			if !ok {
				acks = nil
				return
			}
			refs = append(refs, ref)
		}
		if adds != nil || acks != nil {
			var timeout <-chan time.Time
			if waiting {
				timeout = ackWait.C
			}
			// Block for the first item, then take whatever else is already queued.
			select {
			case r, ok := <-adds:
				add(r, ok)
			case ref, ok := <-acks:
				ack(ref, ok)
			case <-timeout:
				waiting, due = false, true
			}
		more:
			for len(group) < maxGroup && len(refs) < maxAcks {
				select {
				case r, ok := <-adds:
					add(r, ok)
				case ref, ok := <-acks:
					ack(ref, ok)
				default:
					break more
				}
			}
		}
		if (adds == nil && acks == nil) || len(refs) >= maxAcks {
			due = true
		}
		if len(refs) > 0 && !due && !waiting {
			ackWait.Reset(ackDelay)
			waiting = true
		}
		removals := refs[:0]
		if due {
			removals = refs
		}
		if len(group)+len(removals) == 0 {
			continue
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			pend := tx.Bucket(bucketPending)
			pend.FillPercent = appendFill
			for _, r := range group {
				for _, e := range r.events {
					if err := pend.Put(seqKey(e.key), e.raw); err != nil {
						return err
					}
				}
				for i, d := range r.ds {
					if err := pend.Put(seqKey(d.ref.key), r.vals[i]); err != nil {
						return err
					}
				}
				if err := s.putArchived(tx, r.arch); err != nil {
					return err
				}
			}
			for _, ref := range removals {
				if err := deletePending(pend, ref); err != nil {
					return err
				}
			}
			// Keys never go back after a restart, archive keys included (a reused
			// time and counter would overwrite an archived event). Keys handed out
			// but not yet committed only make the saved counter a little high.
			if seq := s.seq.Load(); seq > pend.Sequence() {
				return pend.SetSequence(seq)
			}
			return nil
		})
		if err == nil {
			s.commits.Add(1)
		}
		// A failed removal only causes a redelivery after restart; a failed add is
		// reported to its Put.
		for _, r := range group {
			r.done <- err
		}
		if len(removals) > 0 {
			refs, due = refs[:0], false
			if waiting {
				ackWait.Stop()
				waiting = false
			}
		}
	}
}

// deletePending removes a delivery and, when it was the last of its event's group,
// the event. A delivery already removed (a duplicate's second removal, or one
// dead-lettered meanwhile) is skipped.
func deletePending(pend *bolt.Bucket, ref pendingRef) error {
	k := seqKey(ref.key)
	if pend.Get(k) == nil {
		return nil
	}
	if err := pend.Delete(k); err != nil {
		return err
	}
	for i := range uint64(ref.group) {
		if pend.Get(seqKey(ref.event+1+i)) != nil {
			return nil
		}
	}
	return pend.Delete(seqKey(ref.event))
}

func (s *boltStore) addPending(ds []*delivery) error { return s.addPendingArchived(ds, nil) }

// sameEvent reports whether a and b are deliveries of one event (Put and replays
// hand each rule's delivery the same bytes).
func sameEvent(a, b *delivery) bool {
	return a.EventID == b.EventID && len(a.Event) == len(b.Event) && (len(a.Event) == 0 || &a.Event[0] == &b.Event[0])
}

// addPendingArchived commits deliveries and archived events in one group commit. It
// encodes on the caller's goroutine, so concurrent Puts encode in parallel.
func (s *boltStore) addPendingArchived(ds []*delivery, arch []archivedEvent) error {
	req := addReq{ds: ds, vals: make([][]byte, len(ds)), arch: arch, done: make(chan error, 1)}
	for i := 0; i < len(ds); {
		j := i + 1
		for j < len(ds) && sameEvent(ds[i], ds[j]) {
			j++
		}
		n := uint64(j - i)
		ev := s.seq.Add(n+1) - n // the event's key; its deliveries' follow
		for k := i; k < j; k++ {
			ds[k].ref = pendingRef{key: ev + 1 + uint64(k-i), event: ev, group: uint32(n)}
		}
		req.events = append(req.events, storedEvent{key: ev, raw: ds[i].Event})
		i = j
	}
	for i, d := range ds {
		v, err := encodePending(d)
		if err != nil {
			return err
		}
		req.vals[i] = v
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
	v, err := encodePending(d)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPending)
		k := seqKey(d.ref.key)
		if b.Get(k) == nil {
			return nil // already done or dead-lettered elsewhere
		}
		return b.Put(k, v)
	})
}

func (s *boltStore) removePending(d *delivery) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.acks <- d.ref
	return nil
}

func (s *boltStore) pending(rule string) ([]*delivery, error) {
	var out []*delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		pend := tx.Bucket(bucketPending)
		raws := make(map[uint64][]byte) // the rule's deliveries of one event share its bytes
		c := pend.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if !isDelivery(v) {
				continue // an event
			}
			d, err := decodePending(k, v)
			if err != nil {
				return err
			}
			if d.Rule != rule {
				continue
			}
			raw, ok := raws[d.ref.event]
			if !ok {
				// A missing event (only a corrupted file) leaves Event empty: the
				// attempt dead-letters it as undecodable.
				raw = append([]byte(nil), pend.Get(seqKey(d.ref.event))...)
				raws[d.ref.event] = raw
			}
			d.Event = raw
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

func (s *boltStore) moveToDead(d *delivery, rec deadRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		if err := deletePending(tx.Bucket(bucketPending), d.ref); err != nil {
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
		dead, pend := tx.Bucket(bucketDead), tx.Bucket(bucketPending)
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
			key := s.seq.Add(2)
			d.ref = pendingRef{key: key, event: key - 1, group: 1}
			v, err := encodePending(d)
			if err != nil {
				return err
			}
			if err := pend.Put(seqKey(key-1), d.Event); err != nil {
				return err
			}
			if err := pend.Put(seqKey(key), v); err != nil {
				return err
			}
			if key > pend.Sequence() {
				if err := pend.SetSequence(key); err != nil {
					return err
				}
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

// A pending record is a fixed header, then the rule, the event id (each after its
// 2-byte length) and the last error (the rest); the event itself is under its own
// key. The header starts with pendingVersion, a byte no JSON text starts with, which
// tells deliveries and events apart.
const (
	pendingVersion   = 1
	pendingHeaderLen = 1 + 8 + 4 + 4 + 8
	maxPendingString = 1<<16 - 1
)

func encodePending(d *delivery) ([]byte, error) {
	if len(d.Rule) > maxPendingString || len(d.EventID) > maxPendingString {
		return nil, fmt.Errorf("encode delivery of %q to rule %q: name too long", d.EventID, d.Rule)
	}
	v := make([]byte, 0, pendingHeaderLen+4+len(d.Rule)+len(d.EventID)+len(d.LastError))
	v = append(v, pendingVersion)
	v = binary.BigEndian.AppendUint64(v, d.ref.event)
	v = binary.BigEndian.AppendUint32(v, d.ref.group)
	v = binary.BigEndian.AppendUint32(v, uint32(d.Attempts))
	v = binary.BigEndian.AppendUint64(v, uint64(d.ReceivedAt.UnixNano()))
	v = binary.BigEndian.AppendUint16(v, uint16(len(d.Rule)))
	v = append(v, d.Rule...)
	v = binary.BigEndian.AppendUint16(v, uint16(len(d.EventID)))
	v = append(v, d.EventID...)
	return append(v, d.LastError...), nil
}

var errBadPending = errors.New("malformed pending delivery")

// isDelivery tells a delivery's value from an event's (JSON, starting with '{').
func isDelivery(v []byte) bool { return len(v) > 0 && v[0] == pendingVersion }

func decodePending(k, v []byte) (*delivery, error) {
	if len(k) != 8 || len(v) < pendingHeaderLen+4 || v[0] != pendingVersion {
		return nil, fmt.Errorf("decode pending delivery %x: %w", k, errBadPending)
	}
	d := &delivery{ref: pendingRef{
		key:   binary.BigEndian.Uint64(k),
		event: binary.BigEndian.Uint64(v[1:9]),
		group: binary.BigEndian.Uint32(v[9:13]),
	}}
	d.Attempts = int(binary.BigEndian.Uint32(v[13:17]))
	d.ReceivedAt = time.Unix(0, int64(binary.BigEndian.Uint64(v[17:25]))).UTC()
	rest := v[pendingHeaderLen:]
	str := func() (string, bool) {
		if len(rest) < 2 {
			return "", false
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			return "", false
		}
		s := string(rest[2 : 2+n])
		rest = rest[2+n:]
		return s, true
	}
	var ok1, ok2 bool
	d.Rule, ok1 = str()
	d.EventID, ok2 = str()
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("decode pending delivery %x: %w", k, errBadPending)
	}
	d.LastError = string(rest)
	return d, nil
}
