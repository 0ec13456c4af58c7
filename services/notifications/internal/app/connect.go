package app

import (
	"context"
	"fmt"
	"time"
)

// Connect records a new connection ($connect).
type Connect struct {
	Store Store
	Now   func() time.Time
	// TTL bounds how long rows of a connection outlive a lost $disconnect.
	TTL time.Duration
}

// Handle records the connection.
func (h Connect) Handle(ctx context.Context, connectionID string) error {
	now := h.Now()
	c := Connection{ID: connectionID, ConnectedAt: now, ExpiresAt: now.Add(h.TTL)}
	if err := h.Store.PutConnection(ctx, c); err != nil {
		return fmt.Errorf("record connection %s: %w", connectionID, err)
	}
	return nil
}
