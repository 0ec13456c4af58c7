// Package app holds the sales service's use cases, one per file, and the store
// port they share.
package app

import (
	"context"
	"errors"
	"time"

	"github.com/concertsys/services/sales/internal/domain"
)

// ErrNotFound is an aggregate no event has named yet.
var ErrNotFound = errors.New("not found")

// MaxHours bounds the hours one query answers (a page); the rest follow with from.
const MaxHours = 1000

// Bucket is the sum of one aggregate's events of one hour (or of all hours: totals).
type Bucket struct {
	Hour time.Time
	domain.Measurement
}

// CatchUpRecord is the replay a catch-up started, kept so it starts once.
type CatchUpRecord struct {
	ReplayName string
	// From and To are the replayed event times, [From, To).
	From, To time.Time
	// Completed is set once the replay was seen COMPLETED.
	Completed bool
}

// Store is the port of the service's state. Record must be atomic: an entry counts
// in its hour and in the totals exactly once, whatever the duplicates and the order.
type Store interface {
	// Record adds e to its aggregate's hour and totals unless (AggregateID, Version)
	// was recorded before; it reports whether it added.
	Record(ctx context.Context, e domain.Entry) (bool, error)
	// Totals is the aggregate's sum over every hour; ErrNotFound when no event named it.
	Totals(ctx context.Context, aggregateID string) (domain.Measurement, error)
	// Hours lists the aggregate's hours from from (inclusive) in order, at most limit.
	Hours(ctx context.Context, aggregateID string, from time.Time, limit int) ([]Bucket, error)
	// CatchUp is the recorded catch-up (false when none was recorded).
	CatchUp(ctx context.Context) (CatchUpRecord, bool, error)
	// SaveCatchUp records r when none is recorded, or replaces the record whose
	// ReplayName is r's; it returns the record that holds after the call.
	SaveCatchUp(ctx context.Context, r CatchUpRecord) (CatchUpRecord, error)
}
