package bus

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// store keeps what must survive a crash: deliveries not yet done and dead letters.
// Each method is atomic. addPending and redrive give each delivery its key (ref);
// the other methods find the delivery by it.
type store interface {
	addPending(ds []*delivery) error
	updatePending(d *delivery) error
	removePending(d *delivery) error
	pending(rule string) ([]*delivery, error)
	// moveToDead removes d's pending entry and stores rec, at once.
	moveToDead(d *delivery, rec deadRecord) error
	deadLetters() ([]deadRecord, error)
	// deleteDead deletes the dead letters with these ids; unknown ids are skipped.
	deleteDead(ids []string) error
	redrive(ids []string, now time.Time) ([]*delivery, error)
	close() error
}

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
	seq      uint64
	pend     map[uint64]delivery
	dead     map[string]deadRecord
	archs    map[string]archiveMeta
	archEvs  map[string][]archivedEvent
	isClosed bool
}

var _ store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{pend: make(map[uint64]delivery), dead: make(map[string]deadRecord),
		archs: make(map[string]archiveMeta), archEvs: make(map[string][]archivedEvent)}
}

func (m *memStore) addPending(ds []*delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	for _, d := range ds {
		m.seq++
		d.ref = pendingRef{key: m.seq, event: m.seq, group: 1}
		m.pend[d.ref.key] = *d
	}
	return nil
}

func (m *memStore) updatePending(d *delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	if _, ok := m.pend[d.ref.key]; ok {
		m.pend[d.ref.key] = *d
	}
	return nil
}

func (m *memStore) removePending(d *delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	delete(m.pend, d.ref.key)
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
	slices.SortFunc(out, func(a, b *delivery) int { return cmp.Compare(a.ref.key, b.ref.key) })
	return out, nil
}

func (m *memStore) moveToDead(d *delivery, rec deadRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.isClosed {
		return ErrClosed
	}
	delete(m.pend, d.ref.key)
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
		m.seq++
		d.ref = pendingRef{key: m.seq, event: m.seq, group: 1}
		m.pend[d.ref.key] = *d
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
