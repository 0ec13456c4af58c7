// Package eventlogtest is the conformance suite of the eventlog port. Every adapter
// runs Run; embedded durable adapters also run RunFeed.
package eventlogtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
)

// Options describe what the server behind an adapter cannot be relied on for.
type Options struct {
	// NotAtomic leaves out the concurrency case, for a test server whose conditional
	// writes are not atomic under concurrent requests (see dynamotest.Backend).
	NotAtomic bool
	// TextOrderedSortKeys keeps LoadPage's histories under ten events, for a test
	// server that orders numeric sort keys as text (minidyn v0.8.2 returns 1, 10, 2,
	// …), where a Query with Limit would page in the wrong order.
	TextOrderedSortKeys bool
}

// Run checks that the Log returned by newLog behaves as the eventlog port promises.
// newLog is called once per subtest and must return an empty log.
func Run(t *testing.T, opts Options, newLog func(t *testing.T) eventlog.Log) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, l eventlog.Log)
	}{
		{"AppendThenLoad", testAppendThenLoad},
		{"LoadAfter", testLoadAfter},
		{"LoadPage", func(t *testing.T, l eventlog.Log) { testLoadPage(t, l, opts) }},
		{"UnknownAggregateNotFound", testNotFound},
		{"VersionConflict", testConflict},
		{"ConcurrentAppendsWithRetry", testConcurrent},
		{"BatchIsAtomic", testBatchAtomic},
		{"ManyAggregatesKeepTheirOrder", testManyAggregates},
		{"OversizedRejected", testOversized},
		{"InvalidBatchRejected", testInvalid},
		{"RoundTripEveryField", testRoundTrip},
	}
	for _, tc := range tests {
		if opts.NotAtomic && tc.name == "ConcurrentAppendsWithRetry" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newLog(t))
		})
	}
}

var seq atomic.Int64

// NewEvent is a valid event of aggregate id at version v with a unique EventID.
func NewEvent(id string, v int64) eventlog.Event {
	n := seq.Add(1)
	return eventlog.Event{
		AggregateID:   id,
		Version:       v,
		EventID:       fmt.Sprintf("evt-%d-%d", time.Now().UnixNano(), n),
		EventType:     "TestHappened",
		SchemaVersion: 1,
		OccurredAt:    time.Now().UTC().Truncate(time.Millisecond),
		CorrelationID: "corr-1",
		CausationID:   "cause-1",
		Data:          json.RawMessage(fmt.Sprintf(`{"n":%d,"v":%d}`, n, v)),
	}
}

// NewEvents is count consecutive events of id starting at version from.
func NewEvents(id string, from int64, count int) []eventlog.Event {
	out := make([]eventlog.Event, count)
	for i := range out {
		out[i] = NewEvent(id, from+int64(i))
	}
	return out
}

func uniqueID(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
}

// RequireSameEvents fails unless got holds exactly want, field by field, with
// OccurredAt compared to the millisecond.
func RequireSameEvents(t testing.TB, want, got []eventlog.Event) {
	t.Helper()
	require.Len(t, got, len(want), "got %d events, want %d", len(got), len(want))
	for i := range want {
		w, g := want[i], got[i]
		require.Equal(t, w.AggregateID, g.AggregateID, "event %d: aggregate id", i)
		require.Equal(t, w.Version, g.Version, "event %d: version", i)
		require.Equal(t, w.EventID, g.EventID, "event %d: event id", i)
		require.Equal(t, w.EventType, g.EventType, "event %d: event type", i)
		require.Equal(t, w.SchemaVersion, g.SchemaVersion, "event %d: schema version", i)
		require.Equal(t, w.CorrelationID, g.CorrelationID, "event %d: correlation id", i)
		require.Equal(t, w.CausationID, g.CausationID, "event %d: causation id", i)
		require.Equal(t, w.TraceParent, g.TraceParent, "event %d: traceparent", i)
		require.Equal(t, w.OccurredAt.UnixMilli(), g.OccurredAt.UnixMilli(), "event %d: created got %v want %v", i, g.OccurredAt, w.OccurredAt)
		require.Equal(t, string(w.Data), string(g.Data), "event %d: data", i)
	}
}

func testAppendThenLoad(t *testing.T, l eventlog.Log) {
	ctx := context.Background()
	id := uniqueID("append")
	first := NewEvents(id, 1, 1)
	require.NoError(t, l.Append(ctx, first))
	rest := NewEvents(id, 2, 3)
	require.NoError(t, l.Append(ctx, rest))

	got, err := l.Load(ctx, id)
	require.NoError(t, err)
	RequireSameEvents(t, append(first, rest...), got)
}

func testLoadAfter(t *testing.T, l eventlog.Log) {
	ctx := context.Background()
	id := uniqueID("after")
	events := NewEvents(id, 1, 5)
	require.NoError(t, l.Append(ctx, events))
	tests := []struct {
		after int64
		want  []eventlog.Event
	}{
		{0, events},
		{-1, events},
		{2, events[2:]},
		{4, events[4:]},
		{5, nil},
		{50, nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("after=", tc.after), func(t *testing.T) {
			got, err := l.LoadAfter(ctx, id, tc.after)
			require.NoError(t, err)
			RequireSameEvents(t, tc.want, got)
		})
	}
	t.Run("unknown aggregate", func(t *testing.T) {
		got, err := l.LoadAfter(ctx, uniqueID("nobody"), 0)
		require.NoError(t, err)
		require.Empty(t, got, "got %d events for an unknown aggregate, want none", len(got))
	})
}

func testLoadPage(t *testing.T, l eventlog.Log, opts Options) {
	ctx := context.Background()
	id := uniqueID("page")
	n := 25
	if opts.TextOrderedSortKeys {
		n = 9
	}
	events := NewEvents(id, 1, n)
	require.NoError(t, l.Append(ctx, events))
	tests := []struct {
		name     string
		after    int64
		limit    int
		want     []eventlog.Event
		wantMore bool
	}{
		{"first page", 0, 4, events[:4], true},
		{"negative after is the start", -3, 2, events[:2], true},
		{"middle page", 4, 3, events[4:7], true},
		{"page ends exactly at the end", int64(n - 3), 3, events[n-3:], false},
		{"short last page", int64(n - 2), 5, events[n-2:], false},
		{"whole history in one page", 0, eventlog.MaxPageLimit, events, false},
		{"limit one", int64(n - 2), 1, events[n-2 : n-1], true},
		{"after the end", int64(n), 10, nil, false},
		{"far after the end", 1 << 40, 10, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, more, err := l.LoadPage(ctx, id, tc.after, tc.limit)
			require.NoError(t, err)
			RequireSameEvents(t, tc.want, got)
			require.Equal(t, tc.wantMore, more, "got more=%v, want %v", more, tc.wantMore)
		})
	}
	t.Run("walking pages yields the history once", func(t *testing.T) {
		var got []eventlog.Event
		after, pages := int64(0), 0
		for {
			page, more, err := l.LoadPage(ctx, id, after, 4)
			require.NoError(t, err)
			got = append(got, page...)
			pages++
			require.LessOrEqual(t, pages, n, "got more pages than events; paging does not advance")
			if !more {
				break
			}
			after = page[len(page)-1].Version
		}
		RequireSameEvents(t, events, got)
		require.Equal(t, (n+3)/4, pages, "got %d pages, want %d", pages, (n+3)/4)
	})
	t.Run("unknown aggregate is an empty page", func(t *testing.T) {
		got, more, err := l.LoadPage(ctx, uniqueID("nobody"), 0, 10)
		require.NoError(t, err)
		require.Empty(t, got, "got %d events for an unknown aggregate, want none", len(got))
		require.False(t, more, "got more=true for an unknown aggregate")
	})
	for _, limit := range []int{0, -1, eventlog.MaxPageLimit + 1} {
		t.Run(fmt.Sprint("limit ", limit, " is invalid"), func(t *testing.T) {
			_, _, err := l.LoadPage(ctx, id, 0, limit)
			require.ErrorIs(t, err, eventlog.ErrInvalid, "got %v, want ErrInvalid", err)
		})
	}
}

func testNotFound(t *testing.T, l eventlog.Log) {
	got, err := l.Load(context.Background(), uniqueID("missing"))
	require.ErrorIs(t, err, eventlog.ErrNotFound, "got %v, want ErrNotFound", err)
	require.Nil(t, got)
}

func testConflict(t *testing.T, l eventlog.Log) {
	ctx := context.Background()
	id := uniqueID("conflict")
	original := NewEvents(id, 1, 2)
	require.NoError(t, l.Append(ctx, original))

	tests := []struct {
		name        string
		batch       []eventlog.Event
		wantVersion int64
	}{
		{"single taken version", NewEvents(id, 2, 1), 2},
		{"first version again", NewEvents(id, 1, 1), 1},
		{"batch overlapping", NewEvents(id, 2, 3), 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := l.Append(ctx, tc.batch)
			require.ErrorIs(t, err, eventlog.ErrConflict, "got %v, want ErrConflict", err)
			var ce *eventlog.ConflictError
			require.ErrorAs(t, err, &ce, "got %T, want *ConflictError", err)
			require.Equal(t, id, ce.AggregateID)
			require.Equal(t, tc.wantVersion, ce.Version, "got conflict on version %d, want %d", ce.Version, tc.wantVersion)

			got, err := l.Load(ctx, id)
			require.NoError(t, err)
			RequireSameEvents(t, original, got)
		})
	}
}

// testConcurrent runs writers that each load, append the next version, and retry on
// conflict: every append must land exactly once, with no gap and no duplicate.
func testConcurrent(t *testing.T, l eventlog.Log) {
	const writers, perWriter = 16, 4
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := uniqueID("concurrent")
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var known int64 // the last version this writer has read
			for i := 0; i < perWriter; i++ {
				if err := appendNext(ctx, l, id, fmt.Sprintf("w%d-%d", w, i), &known); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := l.Load(ctx, id)
	require.NoError(t, err)
	require.Len(t, got, writers*perWriter, "got %d events, want %d", len(got), writers*perWriter)
	seen := map[string]bool{}
	for i, e := range got {
		require.Equal(t, int64(i+1), e.Version, "event %d: got version %d, want %d", i, e.Version, i+1)
		require.False(t, seen[e.EventID], "event id %s appended twice", e.EventID)
		seen[e.EventID] = true
	}
}

// appendNext reads what it has not seen yet, appends the next version, and on a
// conflict reads again and retries, as a command handler does.
func appendNext(ctx context.Context, l eventlog.Log, id, eventID string, known *int64) error {
	for attempt := 0; ; attempt++ {
		events, err := l.LoadAfter(ctx, id, *known)
		if err != nil {
			return err
		}
		for _, e := range events {
			if e.Version != *known+1 {
				return fmt.Errorf("read version %d after %d: gap or disorder", e.Version, *known)
			}
			*known = e.Version
		}
		e := NewEvent(id, *known+1)
		e.EventID = eventID
		err = l.Append(ctx, []eventlog.Event{e})
		if err == nil {
			*known = e.Version
			return nil
		}
		if !errors.Is(err, eventlog.ErrConflict) {
			return fmt.Errorf("append %s attempt %d: %w", eventID, attempt, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("append %s gave up after %d attempts: %w", eventID, attempt, ctx.Err())
		}
	}
}

func testBatchAtomic(t *testing.T, l eventlog.Log) {
	ctx := context.Background()
	id := uniqueID("atomic")
	base := NewEvents(id, 1, 3)
	require.NoError(t, l.Append(ctx, base[:1]))
	require.NoError(t, l.Append(ctx, base[1:]))

	// A batch whose first version is taken writes none of its events.
	err := l.Append(ctx, NewEvents(id, 3, 4))
	require.ErrorIs(t, err, eventlog.ErrConflict, "got %v, want ErrConflict", err)
	got, err := l.Load(ctx, id)
	require.NoError(t, err)
	RequireSameEvents(t, base, got)

	// The maximum batch is written as a whole.
	full := NewEvents(id, 4, eventlog.MaxBatchEvents)
	require.NoError(t, l.Append(ctx, full))
	got, err = l.LoadAfter(ctx, id, 3)
	require.NoError(t, err)
	RequireSameEvents(t, full, got)
}

func testManyAggregates(t *testing.T, l eventlog.Log) {
	ctx := context.Background()
	const aggregates, perAggregate = 12, 4
	ids := make([]string, aggregates)
	want := map[string][]eventlog.Event{}
	for i := range ids {
		ids[i] = uniqueID(fmt.Sprintf("many%02d", i))
	}
	// Interleave: version 1 of every aggregate, then version 2 of every aggregate…
	for v := int64(1); v <= perAggregate; v++ {
		for _, id := range ids {
			e := NewEvent(id, v)
			require.NoError(t, l.Append(ctx, []eventlog.Event{e}))
			want[id] = append(want[id], e)
		}
	}
	for _, id := range ids {
		got, err := l.Load(ctx, id)
		require.NoError(t, err)
		RequireSameEvents(t, want[id], got)
	}
	sc, ok := l.(eventlog.Scanner)
	if !ok {
		return
	}
	t.Run("ForEach", func(t *testing.T) {
		seen := map[string][]eventlog.Event{}
		require.NoError(t, sc.ForEach(ctx, func(e eventlog.Event) error {
			seen[e.AggregateID] = append(seen[e.AggregateID], e)
			return nil
		}))
		require.Len(t, seen, aggregates, "got %d aggregates, want %d", len(seen), aggregates)
		for _, id := range ids {
			RequireSameEvents(t, want[id], seen[id])
		}
		stop := errors.New("stop")
		calls := 0
		err := sc.ForEach(ctx, func(eventlog.Event) error { calls++; return stop })
		require.ErrorIs(t, err, stop, "got %v, want fn's error", err)
		require.Equal(t, 1, calls, "got %d calls after fn failed, want 1", calls)
	})
}

// sizedEvent is an event of id whose ItemSize is exactly size bytes.
func sizedEvent(t testing.TB, id string, v int64, size int) eventlog.Event {
	t.Helper()
	e := NewEvent(id, v)
	e.Data = json.RawMessage(`""`)
	pad := size - eventlog.ItemSize(e)
	require.GreaterOrEqual(t, pad, 0)
	e.Data = json.RawMessage(`"` + strings.Repeat("x", pad) + `"`)
	require.Equal(t, size, eventlog.ItemSize(e))
	return e
}

func testOversized(t *testing.T, l eventlog.Log) {
	ctx := context.Background()
	// DynamoDB documents 400 KB; moto refuses items over its own estimate of 405,000
	// bytes. The exact boundary is covered by eventlog's ValidateBatch tests.
	t.Run("just under the limit is accepted", func(t *testing.T) {
		id := uniqueID("limit")
		e := sizedEvent(t, id, 1, 400_000)
		require.NoError(t, l.Append(ctx, []eventlog.Event{e}))
		got, err := l.Load(ctx, id)
		require.NoError(t, err)
		RequireSameEvents(t, []eventlog.Event{e}, got)
	})
	tests := []struct {
		name  string
		batch func(id string) []eventlog.Event
	}{
		{"one byte over", func(id string) []eventlog.Event {
			return []eventlog.Event{sizedEvent(t, id, 1, eventlog.MaxItemBytes+1)}
		}},
		{"multibyte data over", func(id string) []eventlog.Event {
			e := NewEvent(id, 1)
			e.Data = json.RawMessage(`"` + strings.Repeat("é", eventlog.MaxItemBytes/2) + `"`)
			return []eventlog.Event{e}
		}},
		{"second of a batch over", func(id string) []eventlog.Event {
			return []eventlog.Event{NewEvent(id, 1), sizedEvent(t, id, 2, eventlog.MaxItemBytes+1)}
		}},
		{"batch over the transaction limit", func(id string) []eventlog.Event {
			n := eventlog.MaxBatchBytes/400_000 + 1
			out := make([]eventlog.Event, n)
			for i := range out {
				out[i] = sizedEvent(t, id, int64(i+1), 400_000)
			}
			return out
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireRefused(t, l, "big", tc.batch, eventlog.ErrTooLarge)
		})
	}
}

// requireRefused appends batch (for a new aggregate named after prefix) and requires
// the error want and nothing written.
func requireRefused(t *testing.T, l eventlog.Log, prefix string, batch func(id string) []eventlog.Event, want error) {
	t.Helper()
	ctx := context.Background()
	id := uniqueID(prefix)
	err := l.Append(ctx, batch(id))
	require.ErrorIs(t, err, want, "got %v, want %v", err, want)
	_, err = l.Load(ctx, id)
	require.ErrorIs(t, err, eventlog.ErrNotFound, "got %v, want nothing written", err)
}

func testInvalid(t *testing.T, l eventlog.Log) {
	tests := []struct {
		name  string
		batch func(id string) []eventlog.Event
	}{
		{"nil batch", func(string) []eventlog.Event { return nil }},
		{"empty batch", func(string) []eventlog.Event { return []eventlog.Event{} }},
		{"version zero", func(id string) []eventlog.Event { return NewEvents(id, 0, 1) }},
		{"negative version", func(id string) []eventlog.Event { return NewEvents(id, -1, 1) }},
		{"gap inside batch", func(id string) []eventlog.Event {
			return []eventlog.Event{NewEvent(id, 1), NewEvent(id, 3)}
		}},
		{"duplicate inside batch", func(id string) []eventlog.Event {
			return []eventlog.Event{NewEvent(id, 1), NewEvent(id, 1)}
		}},
		{"descending batch", func(id string) []eventlog.Event {
			return []eventlog.Event{NewEvent(id, 2), NewEvent(id, 1)}
		}},
		{"mixed aggregates", func(id string) []eventlog.Event {
			return []eventlog.Event{NewEvent(id, 1), NewEvent(id+"-other", 2)}
		}},
		{"empty aggregate id", func(string) []eventlog.Event { return NewEvents("", 1, 1) }},
		{"empty event type", func(id string) []eventlog.Event {
			e := NewEvent(id, 1)
			e.EventType = ""
			return []eventlog.Event{e}
		}},
		{"data not JSON", func(id string) []eventlog.Event {
			e := NewEvent(id, 1)
			e.Data = json.RawMessage(`{"unterminated":`)
			return []eventlog.Event{e}
		}},
		{"no data", func(id string) []eventlog.Event {
			e := NewEvent(id, 1)
			e.Data = nil
			return []eventlog.Event{e}
		}},
		{"too many events", func(id string) []eventlog.Event { return NewEvents(id, 1, eventlog.MaxBatchEvents+1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireRefused(t, l, "invalid", tc.batch, eventlog.ErrInvalid)
		})
	}
}

func testRoundTrip(t *testing.T, l eventlog.Log) {
	ctx := context.Background()
	amsterdam := time.FixedZone("CEST", 2*60*60)
	tests := []struct {
		name string
		edit func(e *eventlog.Event)
	}{
		{"every field set", func(e *eventlog.Event) {
			e.EventType = "ConcertScheduled"
			e.SchemaVersion = 3
			e.OccurredAt = time.Date(2026, 5, 1, 20, 0, 0, 123_456_789, amsterdam)
			e.CorrelationID = "req-8d2f1c"
			e.CausationID = "cmd-42"
			e.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			e.Data = json.RawMessage(`{"artist":"Sigur Rós ✓","nested":{"a":[1,2.5,null,true]}}`)
		}},
		{"optional strings empty", func(e *eventlog.Event) {
			e.EventID, e.CorrelationID, e.CausationID, e.TraceParent = "", "", "", ""
			e.SchemaVersion = 0
		}},
		{"created before 1970", func(e *eventlog.Event) {
			e.OccurredAt = time.Date(1969, 12, 31, 23, 59, 58, 7_000_000, time.UTC)
		}},
		{"created on a whole second", func(e *eventlog.Event) {
			e.OccurredAt = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		}},
		{"data with whitespace kept verbatim", func(e *eventlog.Event) {
			e.Data = json.RawMessage("{ \"a\" : 1 ,\n \"b\": \"\\u00e9\" }")
		}},
		{"unicode aggregate id", func(e *eventlog.Event) {
			e.AggregateID += "-ünï"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEvent(uniqueID("roundtrip"), 1)
			tc.edit(&e)
			require.NoError(t, l.Append(ctx, []eventlog.Event{e}))
			got, err := l.Load(ctx, e.AggregateID)
			require.NoError(t, err)
			RequireSameEvents(t, []eventlog.Event{e}, got)
			require.Equal(t, time.UTC, got[0].OccurredAt.Location(), "got Created in %v, want UTC", got[0].OccurredAt.Location())
		})
	}
}
