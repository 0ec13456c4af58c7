package boltstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/notifications/internal/adapters/boltstore"
	"github.com/concertsys/services/notifications/internal/adapters/storetest"
	"github.com/concertsys/services/notifications/internal/app"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Options{}, func(t *testing.T) app.Store {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "connections.db"))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, st.Close()) })
		return st
	})
}

// ConfirmDelivery does not wait for a commit, yet the next claim honours it at once,
// and it is committed (here by Close) so a reopened store honours it too.
func TestConfirmRidesTheNextCommit(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
	lease, expires := now.Add(30*time.Second), now.Add(time.Hour)
	d := func(v int64) app.Delivery { return app.Delivery{ConnectionID: "conn", ConcertID: "c1", Version: v} }
	tests := []struct {
		name   string
		reopen bool
	}{
		{"the next claim honours it at once", false},
		{"a reopened store honours it", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "connections.db")
			st, err := boltstore.Open(path)
			require.NoError(t, err)
			require.NoError(t, st.PutConnection(ctx, app.Connection{ID: "conn", ConnectedAt: now, ExpiresAt: expires}))
			c1, err := st.ClaimDelivery(ctx, d(1), now, lease, expires)
			require.NoError(t, err)
			require.Equal(t, app.Claimed, c1.Outcome)
			require.NoError(t, st.ConfirmDelivery(ctx, d(1), c1))
			if tt.reopen {
				require.NoError(t, st.Close())
				st, err = boltstore.Open(path)
				require.NoError(t, err)
			}
			t.Cleanup(func() { require.NoError(t, st.Close()) })
			c2, err := st.ClaimDelivery(ctx, d(2), now, lease, expires)
			require.NoError(t, err)
			require.Equal(t, app.Claimed, c2.Outcome, "got %v want claimed: v1 was confirmed", c2.Outcome)
		})
	}
}
