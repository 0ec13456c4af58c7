package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/concertsys/services/notifications/internal/domain"
)

// MaxSubscriptionsPerConnection bounds what one client can make fan-out do (and the
// rows it can make the store hold). API Gateway bounds only the connection (message
// size, idle and total duration), so the service bounds subscriptions itself, on
// AWS as in devstack; one more is answered {"type":"error","message":...}.
const MaxSubscriptionsPerConnection = 100

// Subscribe subscribes a connection to a concert or to "*".
type Subscribe struct {
	store Store
	now   func() time.Time
	ttl   time.Duration
}

// NewSubscribe records subscriptions in store; they expire ttl after now().
func NewSubscribe(store Store, now func() time.Time, ttl time.Duration) *Subscribe {
	return &Subscribe{store: store, now: now, ttl: ttl}
}

// Handle adds the subscription. Subscribing again is not an error. Client mistakes
// are *domain.ProtocolError; ErrConnectionNotFound if the connection is unknown.
func (h *Subscribe) Handle(ctx context.Context, connectionID string, concertID domain.ConcertID) error {
	now := h.now()
	subs, err := h.store.Subscriptions(ctx, connectionID, now)
	if err != nil {
		return fmt.Errorf("list subscriptions of %s: %w", connectionID, err)
	}
	if len(subs) >= MaxSubscriptionsPerConnection && !slices.Contains(subs, concertID.String()) {
		return &domain.ProtocolError{Message: fmt.Sprintf("too many subscriptions: at most %d per connection", MaxSubscriptionsPerConnection)}
	}
	if err := h.store.Subscribe(ctx, connectionID, concertID.String(), now.Add(h.ttl)); err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", connectionID, concertID.String(), err)
	}
	return nil
}
