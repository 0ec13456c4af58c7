package app

import (
	"context"
	"fmt"

	"github.com/concertsys/services/notifications/internal/domain"
)

// Unsubscribe removes a subscription of a connection.
type Unsubscribe struct {
	store Store
}

// NewUnsubscribe removes subscriptions from store.
func NewUnsubscribe(store Store) *Unsubscribe { return &Unsubscribe{store: store} }

// Handle removes the subscription; removing an absent one is not an error, so a
// retried unsubscribe gets the same answer.
func (h *Unsubscribe) Handle(ctx context.Context, connectionID string, concertID domain.ConcertID) error {
	if err := h.store.Unsubscribe(ctx, connectionID, concertID.String()); err != nil {
		return fmt.Errorf("unsubscribe %s from %s: %w", connectionID, concertID.String(), err)
	}
	return nil
}
