package eventlogtest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
)

// Durable is an embedded log that keeps its events in a file and has a change feed.
type Durable interface {
	eventlog.Log
	eventlog.Scanner
	eventlog.Feed
	Close() error
}

// RunFeed checks the change feed and durability of an embedded log. open opens (or
// reopens) the log stored at path.
func RunFeed(t *testing.T, open func(t *testing.T, path string) Durable) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, path string, open func(t *testing.T, path string) Durable)
	}{
		{"PositionsFollowCommitOrder", testFeedOrder},
		{"FailedAppendsTakeNoPosition", testFeedSkipsFailures},
		{"ConcurrentAppendsAllInFeed", testFeedConcurrent},
		{"ResumableAfterReopen", testFeedReopen},
		{"ChangedFiresOnCommit", testFeedChanged},
		{"DurableAcrossReopen", testDurable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, filepath.Join(t.TempDir(), "events.db"), open)
		})
	}
}

// readAll pages through the feed after position after.
func readAll(t testing.TB, f eventlog.Feed, after uint64, page int) []eventlog.FeedEntry {
	t.Helper()
	var out []eventlog.FeedEntry
	for {
		got, err := f.ReadFeed(context.Background(), after, page)
		require.NoError(t, err)
		require.LessOrEqual(t, len(got), page, "got %d entries, want at most %d", len(got), page)
		if len(got) == 0 {
			return out
		}
		out = append(out, got...)
		after = got[len(got)-1].Position
	}
}

func requirePositions(t testing.TB, entries []eventlog.FeedEntry, from uint64) {
	t.Helper()
	for i, e := range entries {
		require.Equal(t, from+uint64(i), e.Position, "entry %d: got position %d, want %d", i, e.Position, from+uint64(i))
	}
}

func testFeedOrder(t *testing.T, path string, open func(*testing.T, string) Durable) {
	ctx := context.Background()
	l := open(t, path)
	defer l.Close()
	a, b := uniqueID("feed-a"), uniqueID("feed-b")
	var want []eventlog.Event
	for _, batch := range [][]eventlog.Event{
		NewEvents(a, 1, 1), NewEvents(b, 1, 2), NewEvents(a, 2, 3), NewEvents(b, 3, 1),
	} {
		require.NoError(t, l.Append(ctx, batch))
		want = append(want, batch...)
	}
	for _, page := range []int{1, 2, 3, 100} {
		t.Run(fmt.Sprint("page=", page), func(t *testing.T) {
			got := readAll(t, l, 0, page)
			requirePositions(t, got, 1)
			events := make([]eventlog.Event, len(got))
			for i, e := range got {
				events[i] = e.Event
			}
			RequireSameEvents(t, want, events)
		})
	}
	got, err := l.ReadFeed(ctx, 5, 100)
	require.NoError(t, err)
	requirePositions(t, got, 6)
	require.Len(t, got, len(want)-5)
	got, err = l.ReadFeed(ctx, uint64(len(want)), 100)
	require.NoError(t, err)
	require.Empty(t, got, "got entries after the last position")
	_, err = l.ReadFeed(ctx, 0, 0)
	require.ErrorIs(t, err, eventlog.ErrInvalid, "got %v for limit 0, want ErrInvalid", err)
}

func testFeedSkipsFailures(t *testing.T, path string, open func(*testing.T, string) Durable) {
	ctx := context.Background()
	l := open(t, path)
	defer l.Close()
	id := uniqueID("feed-fail")
	require.NoError(t, l.Append(ctx, NewEvents(id, 1, 2)))
	require.ErrorIs(t, l.Append(ctx, NewEvents(id, 2, 2)), eventlog.ErrConflict)
	require.ErrorIs(t, l.Append(ctx, NewEvents(id, 4, 1)), eventlog.ErrConflict, "a gap must be a conflict")
	require.ErrorIs(t, l.Append(ctx, NewEvents(id, 3, 0)), eventlog.ErrInvalid)
	require.NoError(t, l.Append(ctx, NewEvents(id, 3, 1)))
	got := readAll(t, l, 0, 10)
	require.Len(t, got, 3)
	requirePositions(t, got, 1)
	for i, e := range got {
		require.Equal(t, int64(i+1), e.Event.Version)
	}
}

func testFeedConcurrent(t *testing.T, path string, open func(*testing.T, string) Durable) {
	ctx := context.Background()
	l := open(t, path)
	defer l.Close()
	const writers, perWriter = 8, 10
	ids := make([]string, writers)
	var wg sync.WaitGroup
	for w := range ids {
		ids[w] = uniqueID(fmt.Sprintf("feed-w%d", w))
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			for v := int64(1); v <= perWriter; v++ {
				if err := l.Append(ctx, NewEvents(id, v, 1)); err != nil {
					t.Errorf("append %s v%d: %v", id, v, err)
					return
				}
			}
		}(ids[w])
	}
	wg.Wait()
	got := readAll(t, l, 0, 7)
	require.Len(t, got, writers*perWriter)
	requirePositions(t, got, 1)
	last := map[string]int64{}
	for _, e := range got {
		id := e.Event.AggregateID
		require.Equal(t, last[id]+1, e.Event.Version, "%s: got version %d after %d in the feed", id, e.Event.Version, last[id])
		last[id] = e.Event.Version
	}
}

func testFeedReopen(t *testing.T, path string, open func(*testing.T, string) Durable) {
	ctx := context.Background()
	id := uniqueID("feed-reopen")
	l := open(t, path)
	require.NoError(t, l.Append(ctx, NewEvents(id, 1, 3)))
	first := readAll(t, l, 0, 2)
	require.Len(t, first, 3)
	checkpoint := first[len(first)-1].Position
	require.NoError(t, l.Close())

	l = open(t, path)
	defer l.Close()
	got, err := l.ReadFeed(ctx, checkpoint, 10)
	require.NoError(t, err)
	require.Empty(t, got, "got entries after the checkpoint before any new append")
	more := NewEvents(id, 4, 2)
	require.NoError(t, l.Append(ctx, more))
	got = readAll(t, l, checkpoint, 10)
	requirePositions(t, got, checkpoint+1)
	require.Len(t, got, 2)
	RequireSameEvents(t, more, []eventlog.Event{got[0].Event, got[1].Event})
}

func testFeedChanged(t *testing.T, path string, open func(*testing.T, string) Durable) {
	ctx := context.Background()
	l := open(t, path)
	defer l.Close()
	id := uniqueID("feed-changed")
	for v := int64(1); v <= 3; v++ {
		ch := l.Changed()
		select {
		case <-ch:
			t.Fatalf("Changed fired before append %d", v)
		default:
		}
		done := make(chan error, 1)
		go func() { done <- l.Append(ctx, NewEvents(id, v, 1)) }()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("Changed did not fire after append %d", v)
		}
		require.NoError(t, <-done)
		// The commit is visible to a reader woken by Changed.
		got, err := l.ReadFeed(ctx, uint64(v-1), 10)
		require.NoError(t, err)
		require.Len(t, got, 1, "got %d entries after wake-up %d, want 1", len(got), v)
	}
}

func testDurable(t *testing.T, path string, open func(*testing.T, string) Durable) {
	ctx := context.Background()
	l := open(t, path)
	ids := []string{uniqueID("durable-a"), uniqueID("durable-b"), uniqueID("durable-c")}
	want := map[string][]eventlog.Event{}
	for i, id := range ids {
		want[id] = NewEvents(id, 1, 5+i)
		require.NoError(t, l.Append(ctx, want[id][:2]))
		require.NoError(t, l.Append(ctx, want[id][2:]))
	}
	require.NoError(t, l.Close())

	l = open(t, path)
	defer l.Close()
	total := 0
	for _, id := range ids {
		got, err := l.Load(ctx, id)
		require.NoError(t, err)
		RequireSameEvents(t, want[id], got)
		total += len(got)
	}
	feed := readAll(t, l, 0, 100)
	require.Len(t, feed, total)
	requirePositions(t, feed, 1)
	// Appending continues from the stored version.
	err := l.Append(ctx, NewEvents(ids[0], 1, 1))
	require.ErrorIs(t, err, eventlog.ErrConflict, "got %v, want ErrConflict after reopen", err)
	require.NoError(t, l.Append(ctx, NewEvents(ids[0], int64(len(want[ids[0]])+1), 1)))
}
