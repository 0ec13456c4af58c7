package bus

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// rawRecorder is a raw target that keeps the bytes it got, by event id.
type rawRecorder struct {
	mu   sync.Mutex
	got  map[string][]byte
	fail bool
}

func newRawRecorder() *rawRecorder { return &rawRecorder{got: make(map[string][]byte)} }

func (r *rawRecorder) target(_ context.Context, event []byte) error {
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("down")
	}
	r.got[ev.ID] = append([]byte(nil), event...)
	return nil
}

func (r *rawRecorder) bytes(id string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.got[id]
	return b, ok
}

// attempts is an Observer that keeps the event of each attempt, by event id.
type attempts struct {
	mu  sync.Mutex
	evs map[string]events.EventBridgeEvent
}

func (a *attempts) StartAttempt(ctx context.Context, rule string, ev events.EventBridgeEvent, attempt int) (context.Context, func(error)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.evs[rule+"/"+ev.ID] = ev
	return ctx, func(error) {}
}

func (a *attempts) DeadLettered(string, DeadLetter) {}

func (a *attempts) get(key string) events.EventBridgeEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.evs[key]
}

// A raw target (devstack's SQS target) must get exactly what json.Marshal makes of
// the EventBridgeEvent a typed target gets (what EventBridge puts in the SQS body),
// fresh from Put and after a restart, and observers must see the same event.
func TestRawTargetGetsMarshaledEvent(t *testing.T) {
	at := time.Date(2026, 12, 6, 15, 4, 5, 999, time.FixedZone("x", 3600))
	entries := map[string]Entry{
		"plain":         entry("s", "d", `{"a":1}`),
		"spaces":        entry("s", "d", " {\n \"a\" : [1, 2 ,3], \"b\": {\"c\": null} }\t"),
		"html and utf8": entry("s<&>", "d\u2028", `{"h":"<b>&amp;</b>","u":"é\u2028","e":"\"\\"}`),
		"resources":     {Source: "s", DetailType: "d", Detail: json.RawMessage(`{"x":"y"}`), Resources: []string{"arn:a", "<r>"}, Time: at},
		"nested detail": entry("s", "d", `{"detail":{"detail":1},"resources":[]}`),
	}
	for _, store := range []string{"memory", "bbolt"} {
		for name, e := range entries {
			t.Run(store+"/"+name, func(t *testing.T) {
				opts := fastOptions("")
				if store == "bbolt" {
					opts.DataDir = t.TempDir()
				}
				b := newBus(t, opts)
				obs := &attempts{evs: make(map[string]events.EventBridgeEvent)}
				b.Observe(obs)
				typed, raw := newRecorder(), newRawRecorder()
				require.NoError(t, b.Subscribe(sub("typed", `{"source":[{"prefix":""}]}`), typed.target))
				require.NoError(t, b.SubscribeRaw(sub("raw", `{"source":[{"prefix":""}]}`), raw.target, "arn:aws:sqs:eu-west-1:123456789012:q"))
				id := putOK(t, b, e)[0]
				waitFor(t, "both deliveries", func() bool { _, ok := raw.bytes(id); return ok && typed.has(id) })

				got, _ := raw.bytes(id)
				ev := typed.snapshot()[0]
				want, err := json.Marshal(ev)
				require.NoError(t, err)
				require.Equal(t, string(want), string(got), "got raw bytes, want json.Marshal of the typed event")
				var decoded events.EventBridgeEvent
				require.NoError(t, json.Unmarshal(got, &decoded))
				require.Equal(t, decoded, ev, "got typed event, want the raw bytes decoded")
				require.Equal(t, ev, obs.get("raw/"+id), "got observed event, want the delivered one")
				require.Equal(t, ev, obs.get("typed/"+id), "got observed event, want the delivered one")
			})
		}
	}
	t.Run("bbolt/after restart", func(t *testing.T) {
		dir := t.TempDir()
		first, err := New(fastOptions(dir))
		require.NoError(t, err)
		down := newRawRecorder()
		down.fail = true
		s := sub("raw", `{"source":["s"]}`)
		s.MaxAttempts = 1000
		require.NoError(t, first.SubscribeRaw(s, down.target, ""))
		e := entries["html and utf8"]
		e.Source = "s"
		id := putOK(t, first, e)[0]
		first.abandon()

		second := newBus(t, fastOptions(dir))
		obs := &attempts{evs: make(map[string]events.EventBridgeEvent)}
		second.Observe(obs)
		raw := newRawRecorder()
		require.NoError(t, second.SubscribeRaw(s, raw.target, ""))
		waitFor(t, "resumed delivery", func() bool { _, ok := raw.bytes(id); return ok })
		got, _ := raw.bytes(id)
		var ev events.EventBridgeEvent
		require.NoError(t, json.Unmarshal(got, &ev))
		want, err := json.Marshal(ev)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
		require.Equal(t, ev, obs.get("raw/"+id), "got observed event, want the delivered one")
	})
}

// boltCounts counts the events and deliveries of the store.
func boltCounts(t *testing.T, b *Bus) (evs, pend int) {
	t.Helper()
	s, ok := b.store.(*boltStore)
	require.True(t, ok)
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		evs, pend = countPending(tx)
		return nil
	}))
	return evs, pend
}

func countPending(tx *bolt.Tx) (evs, pend int) {
	_ = tx.Bucket(bucketPending).ForEach(func(_, v []byte) error {
		if isDelivery(v) {
			pend++
		} else {
			evs++
		}
		return nil
	})
	return evs, pend
}

// An event matched by several rules is stored once; it stays while any of its
// deliveries is pending (also across a restart) and goes with the last one.
func TestEventStoredOnceUntilLastDelivery(t *testing.T) {
	dir := t.TempDir()
	opts := fastOptions(dir)
	first, err := New(opts)
	require.NoError(t, err)
	fast, slow := newRecorder(), newRawRecorder()
	slow.fail = true
	s := sub("slow", `{"source":["s"]}`)
	s.MaxAttempts = 1000
	require.NoError(t, first.Subscribe(sub("fast-1", `{"source":["s"]}`), fast.target))
	require.NoError(t, first.Subscribe(sub("fast-2", `{"source":["s"]}`), fast.target))
	require.NoError(t, first.SubscribeRaw(s, slow.target, ""))
	ids := putOK(t, first, entry("s", "d", `{"i":1}`), entry("s", "d", `{"i":2}`))
	waitFor(t, "fast deliveries", func() bool { return fast.has(ids...) })
	waitFor(t, "fast removals committed", func() bool { _, pend := boltCounts(t, first); return pend == 2 })
	evs, _ := boltCounts(t, first)
	require.Equal(t, 2, evs, "got stored events, want each event once while a delivery is pending")
	require.NoError(t, first.Close(context.Background()))

	second := newBus(t, opts)
	again, late := newRecorder(), newRawRecorder()
	require.NoError(t, second.Subscribe(sub("fast-1", `{"source":["s"]}`), again.target))
	require.NoError(t, second.Subscribe(sub("fast-2", `{"source":["s"]}`), again.target))
	require.NoError(t, second.SubscribeRaw(s, late.target, ""))
	waitFor(t, "slow deliveries after restart", func() bool {
		_, ok1 := late.bytes(ids[0])
		_, ok2 := late.bytes(ids[1])
		return ok1 && ok2
	})
	waitFor(t, "store emptied", func() bool { evs, pend := boltCounts(t, second); return evs == 0 && pend == 0 })
	require.Zero(t, again.distinct(), "got redeliveries of deliveries done before a clean close, want none")
}

func TestStoreRemovals(t *testing.T) {
	tests := []struct {
		name      string
		remove    []int // indexes of the group's deliveries, in order; repeats are duplicates' removals
		wantEvent bool
		wantPend  int
	}{
		{name: "none", wantEvent: true, wantPend: 3},
		{name: "some", remove: []int{0, 2}, wantEvent: true, wantPend: 1},
		{name: "all", remove: []int{2, 0, 1}, wantPend: 0},
		{name: "duplicate removals", remove: []int{1, 1, 1, 0}, wantEvent: true, wantPend: 1},
		{name: "all with duplicates", remove: []int{0, 0, 1, 2, 2}, wantPend: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), dataFileName)
			s, err := openBoltStore(path)
			require.NoError(t, err)
			raw := []byte(`{"id":"e"}`)
			var ds []*delivery
			for _, rule := range []string{"a", "b", "c"} {
				ds = append(ds, &delivery{Rule: rule, EventID: "e", Event: raw, ReceivedAt: time.Unix(1, 0).UTC()})
			}
			require.NoError(t, s.addPending(ds))
			for _, i := range tt.remove {
				require.NoError(t, s.removePending(ds[i]))
			}
			require.NoError(t, s.close()) // commits the queued removals
			s, err = openBoltStore(path)
			require.NoError(t, err)
			defer s.close()
			var pend int
			for _, rule := range []string{"a", "b", "c"} {
				got, err := s.pending(rule)
				require.NoError(t, err)
				for _, d := range got {
					require.Equal(t, string(raw), string(d.Event))
					require.Equal(t, "e", d.EventID)
					require.Equal(t, rule, d.Rule)
				}
				pend += len(got)
			}
			require.Equal(t, tt.wantPend, pend, "got pending deliveries")
			var stored bool
			require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
				evs, _ := countPending(tx)
				stored = evs > 0
				return nil
			}))
			require.Equal(t, tt.wantEvent, stored, "got event stored")
		})
	}
}

func TestPendingRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		d    delivery
	}{
		{"fresh", delivery{Rule: "r", EventID: "id", ReceivedAt: time.Unix(1700000000, 123).UTC(), ref: pendingRef{key: 7, event: 5, group: 3}}},
		{"failed", delivery{Rule: "rule-x", EventID: "id#replay", Attempts: 4, LastError: "boom: \x00 ünïcode", ReceivedAt: time.Unix(0, 0).UTC(), ref: pendingRef{key: 1 << 40, event: 1 << 40, group: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := encodePending(&tt.d)
			require.NoError(t, err)
			got, err := decodePending(seqKey(tt.d.ref.key), v)
			require.NoError(t, err)
			require.Equal(t, tt.d, *got)
		})
	}
	_, err := decodePending(seqKey(1), []byte("{}"))
	require.ErrorIs(t, err, errBadPending)
}

// Files of the first format (JSON deliveries keyed by rule and event id) do not load:
// opening one must say so rather than lose or misread its deliveries.
func TestOldFormatRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(tx *bolt.Tx) error
	}{
		{"format 1", func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("pending"))
			if err != nil {
				return err
			}
			if _, err := tx.CreateBucket([]byte("dead")); err != nil {
				return err
			}
			return b.Put([]byte("rule\x00id"), []byte(`{"rule":"rule"}`))
		}},
		{"unknown format", func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			return b.Put(keyFormat, []byte("bus/99"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := bolt.Open(filepath.Join(dir, dataFileName), 0o600, nil)
			require.NoError(t, err)
			require.NoError(t, db.Update(tt.setup))
			require.NoError(t, db.Close())
			_, err = New(fastOptions(dir))
			require.ErrorIs(t, err, ErrStoreFormat)
			require.ErrorContains(t, err, "delete it")
		})
	}
}

// Archive keys are the event time and the store's counter: the counter must not go
// back after a restart, or an event of the same second would overwrite one archived
// before it.
func TestArchivedEventsKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		b, err := New(fastOptions(dir))
		require.NoError(t, err)
		if i == 0 {
			_, err := b.CreateArchive(ArchiveConfig{Name: "all"})
			require.NoError(t, err)
		}
		putOK(t, b, Entry{Source: "s", DetailType: "d", Detail: json.RawMessage(`{}`), Time: at})
		a, err := b.DescribeArchive("all")
		require.NoError(t, err)
		require.Equalf(t, int64(i+1), a.EventCount, "got archived events after restart %d", i)
		require.NoError(t, b.Close(context.Background()))
	}
}
