package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/concertsys/services/projections/internal/domain"
)

// RebuildStats says what folding a stream of bus events did.
type RebuildStats struct {
	Events   int `json:"events"`   // bus events read
	Ignored  int `json:"ignored"`  // not a concert event this projection applies
	Decoded  int `json:"decoded"`  // events decoded in full (the rest were covered by a later state)
	Concerts int `json:"concerts"` // views computed
	Written  int `json:"written"`  // views stored
	Skipped  int `json:"skipped"`  // views left alone because the stored one was newer
}

// BatchViewStore is a view store that writes many views in one commit.
type BatchViewStore interface {
	// PutNewer stores each record unless the stored view of its concert is newer
	// (an equal version is rewritten, so a fix of the apply rules takes effect);
	// publishedVersion stays as stored (0 for a new view). It returns how many it
	// wrote.
	PutNewer(ctx context.Context, recs []Record) (int, error)
}

// errNotReread: a second pass was needed and the events did not come again.
var errNotReread = errors.New("the event source yields its events only once")

// Fold sizes: a chunk bounds the events held before they are folded (and so the
// memory besides one view per concert), a batch the views written in one commit.
const (
	foldChunkEvents = 16384
	foldChunkBytes  = 16 << 20
	foldBatchViews  = 1000
	maxFoldErrors   = 10
)

// FoldEvents is the in-process rebuild: it folds a stream of bus events (what a replay
// of the archive delivers to the projection's rule) into views and writes them in
// batches. It applies events exactly as the consumer does (domain.ParseDetail,
// View.Apply), so its views are byte-identical to the live ones. It is fast because
// events carry the concert's state: the first pass only scans each event for its
// concert and version and keeps the newest event of each concert, which is then the
// only one decoded; a concert whose newest event does not apply (a bad event, or one
// from before events carried state) is folded event by event in a second pass.
type FoldEvents struct {
	views ViewStore
	chunk int // events per chunk of the second pass
}

// NewFoldEvents folds into views.
func NewFoldEvents(views ViewStore) *FoldEvents {
	return &FoldEvents{views: views, chunk: foldChunkEvents}
}

// foldEntry is one event of a chunk: where it is in the chunk's bytes.
type foldEntry struct {
	at, end int
	version int64
	concert *concertFold
}

// foldChunk is a chunk of events, read by Handle's goroutine while the previous one
// is folded by another.
type foldChunk struct {
	entries []foldEntry
	arena   []byte
}

// concertFold is one concert's view, its newest event and, in the second pass, its
// events of the chunk being folded (only the folding goroutine touches view, pending
// and err then).
type concertFold struct {
	view          *domain.View
	newest        []byte // the newest event seen (EventBridge JSON)
	newestVersion int64
	slow          bool    // the newest did not apply: fold every event
	reread        bool    // the second pass saw its events
	pending       []int32 // this chunk's entries of the concert
	err           error   // the first event above the view that did not apply
}

// Handle folds every event of events (an EventBridge event's JSON each; the slice may
// be reused once yield returns) and stores the views unless the stored ones are
// newer, so it is safe while the consumer runs. events is ranged over a second time
// when a concert's newest event does not apply, so it must yield the same events
// again (an archive does). Events of other sources or types are counted and ignored.
// An event that cannot be applied (as the consumer would send it to its dead-letter
// queue) does not stop the others; the errors of those above their concert's
// resulting view are returned after every view was written.
func (f *FoldEvents) Handle(ctx context.Context, events iter.Seq2[[]byte, error]) (RebuildStats, error) {
	var (
		stats RebuildStats
		folds = map[string]*concertFold{}
		keys  busEventKeys
		ids   []string
	)
	for raw, err := range events {
		if err != nil {
			return stats, fmt.Errorf("rebuild: read events: %w", err)
		}
		stats.Events++
		c, ok := f.concertOf(raw, &keys, folds)
		if !ok {
			stats.Ignored++
			continue
		}
		if c == nil {
			c = &concertFold{view: domain.New(keys.id)}
			folds[keys.id] = c
			ids = append(ids, keys.id)
		}
		if keys.version > c.newestVersion {
			c.newest, c.newestVersion = append(c.newest[:0], raw...), keys.version
		}
	}
	if err := ctx.Err(); err != nil {
		return stats, fmt.Errorf("rebuild: %w", err)
	}
	slices.Sort(ids)
	stats.Decoded += applyNewest(ids, folds)
	slow := 0
	for _, c := range folds {
		if c.slow {
			slow++
		}
	}
	if slow > 0 {
		decoded, err := f.foldSlow(ctx, events, folds)
		stats.Decoded += decoded
		if err != nil {
			return stats, err
		}
		for _, c := range folds {
			if c.slow && !c.reread {
				c.err = fmt.Errorf("concert %s: its newest event did not apply and the events were not yielded a second time: %w",
					c.view.ConcertID(), errNotReread)
			}
		}
	}

	var errs []error
	batch := make([]Record, 0, foldBatchViews)
	write := func() error {
		written, err := putNewer(ctx, f.views, batch)
		stats.Written += written
		stats.Skipped += len(batch) - written
		batch = batch[:0]
		return err
	}
	for _, id := range ids {
		c := folds[id]
		if c.err != nil && len(errs) < maxFoldErrors {
			errs = append(errs, c.err)
		}
		if c.view.Version() == 0 {
			continue
		}
		stats.Concerts++
		if batch = append(batch, recordOf(c.view)); len(batch) == foldBatchViews {
			if err := write(); err != nil {
				return stats, fmt.Errorf("rebuild: %w", err)
			}
		}
	}
	if err := write(); err != nil {
		return stats, fmt.Errorf("rebuild: %w", err)
	}
	if len(errs) > 0 {
		return stats, fmt.Errorf("rebuild: events not applied (the consumer would dead-letter them): %w", errors.Join(errs...))
	}
	return stats, nil
}

// concertOf scans raw and finds its concert in folds: ok is false for an event the
// projection does not apply, c nil (with keys.id set) for a concert not seen yet.
func (f *FoldEvents) concertOf(raw []byte, keys *busEventKeys, folds map[string]*concertFold) (c *concertFold, ok bool) {
	if scanBusEvent(raw, keys, false) != nil || string(keys.source) != domain.Source || !appliedType(keys.detailType) {
		// An event the scan cannot read is not one the bus delivered to this
		// projection's rule (the rule's pattern reads source and detail-type).
		return nil, false
	}
	if !keys.escaped {
		if c = folds[string(keys.aggregateID)]; c != nil { // no allocation for the lookup
			return c, true
		}
	}
	id, err := keys.aggregateIDString()
	if err != nil {
		return nil, false
	}
	keys.id = id
	return folds[id], true
}

// applyNewest applies each concert's newest event on two goroutines (concerts are
// independent) and marks the concerts where it did not apply as slow. It returns how
// many events it decoded.
func applyNewest(ids []string, folds map[string]*concertFold) int {
	const workers = 2
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keys busEventKeys
			for i := w; i < len(ids); i += workers {
				c := folds[ids[i]]
				if c.apply(c.newest, &keys) != nil {
					c.slow, c.view = true, domain.New(c.view.ConcertID())
				}
				c.newest = nil
			}
		}()
	}
	wg.Wait()
	return len(ids)
}

// apply decodes one event with the consumer's code and applies it to the view.
func (c *concertFold) apply(raw []byte, keys *busEventKeys) error {
	if err := scanBusEvent(raw, keys, true); err != nil {
		return fmt.Errorf("concert %s: %w: %w", c.view.ConcertID(), err, domain.ErrInvalidEvent)
	}
	ev, err := domain.ParseDetail(string(keys.detailType), keys.detail)
	if err != nil {
		return err
	}
	return c.view.Apply(ev)
}

// foldSlow is the second pass, for the slow concerts only: their events are folded
// chunk by chunk, reading (a scan of each event) and folding (decoding what matters)
// on two goroutines a chunk apart. It returns how many events it decoded.
func (f *FoldEvents) foldSlow(ctx context.Context, events iter.Seq2[[]byte, error], folds map[string]*concertFold) (int, error) {
	free, full := make(chan *foldChunk, 2), make(chan *foldChunk, 1)
	free <- &foldChunk{}
	free <- &foldChunk{}
	decoded := make(chan int, 1)
	go func() {
		n := 0
		var touched []*concertFold
		for ch := range full {
			for i, e := range ch.entries {
				c := e.concert
				if len(c.pending) == 0 {
					touched = append(touched, c)
				}
				c.pending = append(c.pending, int32(i))
			}
			for _, c := range touched {
				n += c.fold(ch)
				c.pending = c.pending[:0]
			}
			touched = touched[:0]
			ch.entries, ch.arena = ch.entries[:0], ch.arena[:0]
			free <- ch
		}
		decoded <- n
	}()
	var keys busEventKeys
	n := 0
	ch := <-free
	err := func() error {
		defer func() {
			full <- ch
			close(full)
			n = <-decoded
		}()
		for raw, err := range events {
			if err != nil {
				return fmt.Errorf("rebuild: read events again: %w", err)
			}
			c, ok := f.concertOf(raw, &keys, folds)
			if !ok || c == nil || !c.slow {
				continue
			}
			c.reread = true
			at := len(ch.arena)
			ch.arena = append(ch.arena, raw...)
			ch.entries = append(ch.entries, foldEntry{at: at, end: len(ch.arena), version: keys.version, concert: c})
			if len(ch.entries) >= f.chunk || len(ch.arena) >= foldChunkBytes {
				full <- ch
				ch = <-free
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("rebuild: %w", err)
				}
			}
		}
		return nil
	}()
	return n, err
}

// fold applies the concert's events of one chunk as the consumer would, given all of
// them: the newest that applies (an event with state applies over any older view),
// then, in version order, whatever applies after it (events without state, which
// apply only as the next version). It returns how many events it decoded.
func (c *concertFold) fold(ch *foldChunk) int {
	entries, p := ch.entries, c.pending
	if !slices.IsSortedFunc(p, func(a, b int32) int { return cmp.Compare(entries[a].version, entries[b].version) }) {
		slices.SortStableFunc(p, func(a, b int32) int { return cmp.Compare(entries[a].version, entries[b].version) })
	}
	decoded := 0
	var keys busEventKeys
	apply := func(i int32) error {
		decoded++
		return c.apply(ch.arena[entries[i].at:entries[i].end], &keys)
	}
	applied := -1
	for k := len(p) - 1; k >= 0; k-- {
		if entries[p[k]].version <= c.view.Version() {
			break
		}
		if apply(p[k]) == nil {
			applied = k
			break
		}
	}
	if applied < 0 {
		// Nothing applies over this view; remember why the newest did not.
		if len(p) > 0 && entries[p[len(p)-1]].version > c.view.Version() {
			c.err = apply(p[len(p)-1])
		}
		return decoded
	}
	c.err = nil
	for _, i := range p[applied+1:] {
		if entries[i].version <= c.view.Version() {
			continue
		}
		if err := apply(i); err != nil && !errors.Is(err, domain.ErrDuplicate) {
			c.err = err
		}
	}
	return decoded
}

// appliedType reports whether the projection applies this detail-type (its rule's
// pattern).
func appliedType(detailType []byte) bool {
	for _, t := range domain.EventTypes() {
		if string(detailType) == t {
			return true
		}
	}
	return false
}

// putNewer writes recs with the store's batch write, or one by one if it has none.
func putNewer(ctx context.Context, views ViewStore, recs []Record) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	if b, ok := views.(BatchViewStore); ok {
		n, err := b.PutNewer(ctx, recs)
		if err != nil {
			return n, fmt.Errorf("store %d views: %w", len(recs), err)
		}
		return n, nil
	}
	written := 0
	for _, rec := range recs {
		ok, err := storeIfNewer(ctx, views, rec)
		if err != nil {
			return written, err
		}
		if ok {
			written++
		}
	}
	return written, nil
}

// storeIfNewer writes rec unless the stored view is newer; an equal version is
// rewritten, so a rebuild after a fix of the apply rules takes effect.
func storeIfNewer(ctx context.Context, views ViewStore, rec Record) (bool, error) {
	id, version := rec.View.ID, rec.View.Version
	for attempt := 1; ; attempt++ {
		var stored int64
		cur, err := views.Get(ctx, id)
		switch {
		case err == nil:
			stored = cur.View.Version
		case !errors.Is(err, ErrNotFound):
			return false, fmt.Errorf("store %s: %w", id, err)
		}
		if stored > version {
			return false, nil
		}
		err = views.Put(ctx, rec, stored)
		if errors.Is(err, ErrConflict) && attempt < maxConflictRetries {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("store %s v%d: %w", id, version, err)
		}
		return true, nil
	}
}
