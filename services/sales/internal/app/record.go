package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/concertsys/services/sales/internal/domain"
)

// Record applies one subscribed event: idempotent (keyed by aggregate and version,
// so a redelivered or replayed event never counts twice) and order-tolerant (sums
// commute).
type Record struct{ store Store }

// NewRecord is the use case over store.
func NewRecord(store Store) *Record { return &Record{store: store} }

// Handle records the bus event's detail; it reports whether the event was new.
func (r *Record) Handle(ctx context.Context, detail json.RawMessage) (bool, error) {
	e, err := domain.ParseEvent(detail)
	if err != nil {
		return false, err
	}
	added, err := r.store.Record(ctx, e)
	if err != nil {
		return false, fmt.Errorf("record %s v%d: %w", e.AggregateID, e.Version, err)
	}
	return added, nil
}
