package bus

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	_ archiveStore = (*memStore)(nil)
	_ archiveStore = (*boltStore)(nil)
)

func (m *memStore) putArchive(a archiveMeta) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	m.archs[a.Name] = a
	return nil
}

func (m *memStore) deleteArchive(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	delete(m.archs, name)
	delete(m.archEvs, name)
	return nil
}

func (m *memStore) archives() ([]archiveMeta, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]archiveMeta, 0, len(m.archs))
	for _, a := range m.archs {
		out = append(out, a)
	}
	return out, nil
}

func (m *memStore) addPendingArchived(ds []*delivery, evs []archivedEvent) error {
	if err := m.addPending(ds); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range evs {
		if _, ok := m.archs[e.Archive]; ok { // deleted meanwhile: drop
			m.archEvs[e.Archive] = append(m.archEvs[e.Archive], e)
		}
	}
	return nil
}

func (m *memStore) archived(name string, fn func(archivedEvent) bool) error {
	m.mu.Lock()
	evs := slices.Clone(m.archEvs[name])
	m.mu.Unlock()
	slices.SortStableFunc(evs, func(a, b archivedEvent) int { return a.Time.Compare(b.Time) })
	for _, e := range evs {
		if !fn(e) {
			break
		}
	}
	return nil
}

func (m *memStore) purgeArchived(name string, before time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.archEvs[name] = slices.DeleteFunc(m.archEvs[name], func(e archivedEvent) bool { return e.Time.Before(before) })
	return nil
}

// In bbolt, archive metadata lives in bucket "archives" (name → JSON) and each
// archive's events in bucket "archive/NAME", keyed by event time (big-endian Unix
// nanoseconds) and the store's key counter, so a replay reads them in time order and
// new events append instead of landing on random pages (as a key of time to the
// second and a random event id did). A value is the event id after its 2-byte length,
// then the event.
var bucketArchives = []byte("archives")

func archiveBucket(name string) []byte { return []byte("archive/" + name) }

func archivedKey(t time.Time, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(t.UnixNano()))
	return binary.BigEndian.AppendUint64(k, seq)
}

func (s *boltStore) putArchive(a archiveMeta) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketArchives)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(archiveBucket(a.Name)); err != nil {
			return err
		}
		return b.Put([]byte(a.Name), v)
	})
}

func (s *boltStore) deleteArchive(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketArchives); b != nil {
			if err := b.Delete([]byte(name)); err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket(archiveBucket(name)); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return err
		}
		return nil
	})
}

func (s *boltStore) archives() ([]archiveMeta, error) {
	var out []archiveMeta
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketArchives)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var a archiveMeta
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// putArchived writes archived events in tx; events of an archive deleted meanwhile are
// dropped.
func (s *boltStore) putArchived(tx *bolt.Tx, evs []archivedEvent) error {
	for _, e := range evs {
		b := tx.Bucket(archiveBucket(e.Archive))
		if b == nil {
			continue
		}
		if len(e.EventID) > maxPendingString {
			return fmt.Errorf("archive event %q: id too long", e.EventID)
		}
		b.FillPercent = appendFill
		v := make([]byte, 0, 2+len(e.EventID)+len(e.Event))
		v = binary.BigEndian.AppendUint16(v, uint16(len(e.EventID)))
		v = append(append(v, e.EventID...), e.Event...)
		if err := b.Put(archivedKey(e.Time, s.seq.Add(1)), v); err != nil {
			return err
		}
	}
	return nil
}

func (s *boltStore) archived(name string, fn func(archivedEvent) bool) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(archiveBucket(name))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 16 || len(v) < 2 || len(v) < 2+int(binary.BigEndian.Uint16(v)) {
				return fmt.Errorf("archive %s: malformed entry %x", name, k)
			}
			t := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC()
			n := 2 + int(binary.BigEndian.Uint16(v))
			if !fn(archivedEvent{Archive: name, EventID: string(v[2:n]), Time: t, Event: slices.Clone(v[n:])}) {
				return nil
			}
		}
		return nil
	})
}

func (s *boltStore) purgeArchived(name string, before time.Time) error {
	limit := archivedKey(before, 0)
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(archiveBucket(name))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil && string(k) < string(limit); k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}
