package bus

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"
)

func TestTailCap(t *testing.T) {
	opts := fastOptions("")
	opts.MaxTails = 2
	b := newBus(t, opts)
	first, cancelFirst := context.WithCancel(context.Background())
	defer cancelFirst()
	for i := range 2 {
		_, err := b.Tail(first, nil)
		require.NoError(t, err, "tail %d of 2", i)
	}
	_, err := b.Tail(context.Background(), nil)
	require.ErrorIs(t, err, ErrTooManyTails, "got %v, want ErrTooManyTails beyond MaxTails", err)
	require.Contains(t, err.Error(), "at most 2", "got %q, want the limit named", err)

	cancelFirst() // both tails end: their slots free up
	waitFor(t, "a free tail slot", func() bool {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := b.Tail(ctx, nil)
		return err == nil
	})
}

func TestDeadLetterRetentionAndPaging(t *testing.T) {
	for _, dir := range []string{"", "bolt"} {
		t.Run("store "+map[string]string{"": "memory", "bolt": "bolt"}[dir], func(t *testing.T) {
			if dir != "" {
				dir = t.TempDir()
			}
			var clock atomic.Int64
			clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
			opts := fastOptions(dir)
			opts.DeadLetterRetention = time.Hour
			opts.Now = func() time.Time { return time.Unix(0, clock.Load()) }
			b := newBus(t, opts)
			s := sub("doomed", `{"source":["s"]}`)
			s.MaxAttempts = 1
			require.NoError(t, b.Subscribe(s, func(context.Context, events.EventBridgeEvent) error { return errors.New("down") }))
			const n = 5
			for range n {
				putOK(t, b, entry("s", "d", `{}`))
				clock.Add(int64(time.Second)) // distinct dead-letter times
			}
			waitFor(t, "dead letters", func() bool {
				dls, err := b.DeadLetters(context.Background())
				require.NoError(t, err)
				return len(dls) == n
			})
			all, err := b.DeadLetters(context.Background())
			require.NoError(t, err)

			var paged []DeadLetter
			cursor, pages := "", 0
			for {
				page, next, err := b.DeadLetterPage(context.Background(), 2, cursor)
				require.NoError(t, err)
				require.LessOrEqual(t, len(page), 2, "got a page of %d, want at most the limit 2", len(page))
				paged = append(paged, page...)
				pages++
				if next == "" {
					break
				}
				cursor = next
			}
			require.Equal(t, 3, pages, "got %d pages of 2 for %d dead letters, want 3", pages, n)
			require.Equal(t, all, paged, "got the pages in another order than the full listing")

			bad := []struct{ name, cursor string }{
				{"not base64", "%%%%x"},
				{"not json", "bm9wZQ"},
				{"foreign id", pageKey{At: time.Now(), ID: "x"}.encode()},
			}
			for _, tt := range bad {
				_, _, err := b.DeadLetterPage(context.Background(), 2, tt.cursor)
				require.ErrorIs(t, err, ErrBadCursor, "cursor %s: got %v, want ErrBadCursor", tt.name, err)
			}
			_, _, err = b.DeadLetterPage(context.Background(), MaxDeadLetterPage+1, "")
			require.Error(t, err, "got no error for a limit over MaxDeadLetterPage")

			newest := all[len(all)-1].DeadLetteredAt
			clock.Store(all[0].DeadLetteredAt.Add(time.Hour - time.Nanosecond).UnixNano()) // all within the retention
			live, err := b.DeadLetters(context.Background())
			require.NoError(t, err)
			require.Len(t, live, n, "got %d dead letters within the retention, want %d", len(live), n)
			clock.Store(newest.Add(time.Hour + time.Second).UnixNano()) // past it
			live, err = b.DeadLetters(context.Background())
			require.NoError(t, err)
			require.Empty(t, live, "got %d dead letters listed past the retention, want none", len(live))
			require.NoError(t, b.PurgeExpiredDeadLetters())
			stored, err := b.store.deadLetters()
			require.NoError(t, err)
			require.Empty(t, stored, "got %d expired dead letters still stored, want them deleted", len(stored))
			redriven, err := b.Redrive(context.Background())
			require.NoError(t, err)
			require.Zero(t, redriven, "got %d expired dead letters redriven, want 0", redriven)
		})
	}
}
