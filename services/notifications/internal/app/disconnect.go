package app

import (
	"context"
	"fmt"
)

// Disconnect forgets a connection and its subscriptions ($disconnect).
type Disconnect struct {
	store Store
}

// NewDisconnect forgets connections in store.
func NewDisconnect(store Store) *Disconnect { return &Disconnect{store: store} }

// Handle deletes the connection; a connection already gone is fine.
func (h *Disconnect) Handle(ctx context.Context, connectionID string) error {
	if err := h.store.DeleteConnection(ctx, connectionID); err != nil {
		return fmt.Errorf("delete connection %s: %w", connectionID, err)
	}
	return nil
}
