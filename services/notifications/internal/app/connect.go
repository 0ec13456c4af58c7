package app

import (
	"context"
	"fmt"
	"time"
)

// Connect records a new connection ($connect).
type Connect struct {
	store Store
	now   func() time.Time
	// ttl bounds how long rows of a connection outlive a lost $disconnect.
	ttl time.Duration
}

// NewConnect records connections in store; their rows expire ttl after now().
func NewConnect(store Store, now func() time.Time, ttl time.Duration) *Connect {
	return &Connect{store: store, now: now, ttl: ttl}
}

// Handle records the connection.
func (h *Connect) Handle(ctx context.Context, connectionID string) error {
	now := h.now()
	c := Connection{ID: connectionID, ConnectedAt: now, ExpiresAt: now.Add(h.ttl)}
	if err := h.store.PutConnection(ctx, c); err != nil {
		return fmt.Errorf("record connection %s: %w", connectionID, err)
	}
	return nil
}
