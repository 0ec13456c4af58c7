package boltidempotency_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/concerts/internal/adapters/boltidempotency"
	"github.com/concertsys/services/concerts/internal/adapters/idempotencytest"
	"github.com/concertsys/services/concerts/internal/ports"
)

func TestConformance(t *testing.T) {
	idempotencytest.Run(t, idempotencytest.Options{}, func(t *testing.T) ports.IdempotencyStore {
		s, err := boltidempotency.Open(filepath.Join(t.TempDir(), "idem.db"), time.Now())
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	})
}

func TestOpenDropsExpiredAndKeepsTheRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idem.db")
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s, err := boltidempotency.Open(path, now)
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, s.Create(ctx, ports.IdempotencyRecord{Key: "old", Token: "a", ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, s.Create(ctx, ports.IdempotencyRecord{Key: "new", Token: "b", ExpiresAt: now.Add(3 * time.Hour)}))
	require.NoError(t, s.Close())

	s, err = boltidempotency.Open(path, now.Add(2*time.Hour))
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Get(ctx, "old")
	require.ErrorIs(t, err, ports.ErrRecordNotFound)
	got, err := s.Get(ctx, "new")
	require.NoError(t, err)
	require.Equal(t, "b", got.Token, "a record survives reopening")
}
