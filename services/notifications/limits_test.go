package notifications_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/notifications/embedded"
)

// TestSubscriptionCap: one connection may hold at most 100 concert subscriptions;
// one more is answered with an error message and the connection stays usable. It
// holds on every store, so on AWS too.
func TestSubscriptionCap(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			h := newHarness(t, s.open(t), harnessOptions{})
			c := h.dial(t)
			for i := range 100 {
				c.subscribe(fmt.Sprintf("c%d", i))
			}
			steps := []struct {
				name, send string
				want       map[string]any
			}{
				{"one too many", `{"action":"subscribe","concertId":"c100"}`, map[string]any{"type": "error", "message": "too many subscriptions: at most 100 per connection"}},
				{"again to one it has", `{"action":"subscribe","concertId":"c5"}`, map[string]any{"type": "subscribed", "concertId": "c5"}},
				{"free one", `{"action":"unsubscribe","concertId":"c0"}`, map[string]any{"type": "unsubscribed", "concertId": "c0"}},
				{"now fits", `{"action":"subscribe","concertId":"c100"}`, map[string]any{"type": "subscribed", "concertId": "c100"}},
			}
			for _, st := range steps {
				c.send(st.send)
				got := c.next()
				require.Equal(t, st.want, got, "%s: got %v, want %v", st.name, got, st.want)
			}
		})
	}
}

// TestEmbeddedStoreDeletesExpiredRows: like DynamoDB's TTL, rows past their expiry
// are skipped by reads at once and deleted by the sweep devstack runs.
func TestEmbeddedStoreDeletesExpiredRows(t *testing.T) {
	st, err := embedded.OpenStore(filepath.Join(t.TempDir(), "connections.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	h := newHarness(t, st, harnessOptions{})
	c := h.dial(t)
	c.subscribe("c1")
	ctx := context.Background()

	tests := []struct {
		name        string
		advance     time.Duration
		wantDeleted bool
	}{
		{"fresh rows stay", time.Minute, false},
		{"expired rows go", 30 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.clock.Advance(tt.advance)
			n, err := st.DeleteExpired(ctx, h.clock.Now())
			require.NoError(t, err)
			if !tt.wantDeleted {
				require.Zero(t, n, "got %d rows deleted before their expiry, want 0", n)
				subs, err := st.Subscriptions(ctx, c.id, h.clock.Now())
				require.NoError(t, err)
				require.Equal(t, []string{"c1"}, subs)
				return
			}
			require.GreaterOrEqual(t, n, 3, "got %d rows deleted, want the connection and both subscription rows", n)
			// Nothing is left even for a reader that ignores expiry (time zero).
			subs, err := st.Subscribers(ctx, "c1", time.Time{})
			require.NoError(t, err)
			require.Empty(t, subs, "got subscriber rows %v after the sweep, want none", subs)
			subs, err = st.Subscriptions(ctx, c.id, time.Time{})
			require.NoError(t, err)
			require.Empty(t, subs, "got subscription rows %v after the sweep, want none", subs)
			n, err = st.DeleteExpired(ctx, h.clock.Now())
			require.NoError(t, err)
			require.Zero(t, n, "got %d rows on a second sweep, want 0", n)
		})
	}
}
