package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Snapshot is an aggregate's state after its event Version, encoded by the aggregate's
// owner. It is a cache of a fold of the log, never a source of truth: snapshots live in
// a store of their own (not the log's table or file), so the log stays append-only and
// the change feed (the Pipe's DynamoDB stream on AWS) never carries one.
type Snapshot struct {
	AggregateID string
	// Version is the version of the last event folded into State.
	Version int64
	// StateVersion is the schema version of State. A reader that expects another one
	// ignores the snapshot and folds the events instead.
	StateVersion int
	State        json.RawMessage
}

// Attribute names of a snapshot item (DynamoDB) and record (embedded store).
const (
	AttrStateVersion = "StateVersion"
	AttrState        = "State"
)

// SnapshotStore keeps the latest snapshot of each aggregate.
type SnapshotStore interface {
	// Save stores s as the aggregate's latest snapshot unless one of a later Version
	// is stored already (then it does nothing and returns nil): snapshots never go
	// back in time. A snapshot with another StateVersion at the same or an earlier
	// Version is replaced. s must have an id, Version >= 1 and a State of at most
	// MaxItemBytes, or Save fails with ErrInvalid / ErrTooLarge.
	Save(ctx context.Context, s Snapshot) error
	// Latest returns the aggregate's latest snapshot, or ErrNoSnapshot. It is read
	// strongly consistently.
	Latest(ctx context.Context, aggregateID string) (Snapshot, error)
}

// ErrNoSnapshot: the aggregate has no stored snapshot.
var ErrNoSnapshot = errors.New("no snapshot")

// ValidateSnapshot is Save's argument check, shared by the adapters.
func ValidateSnapshot(s Snapshot) error {
	switch {
	case s.AggregateID == "" || len(s.AggregateID) > MaxAggregateIDBytes:
		return fmt.Errorf("snapshot: aggregate id of %d bytes: %w", len(s.AggregateID), ErrInvalid)
	case s.Version < 1:
		return fmt.Errorf("snapshot of %s: version %d: %w", s.AggregateID, s.Version, ErrInvalid)
	case !json.Valid(s.State):
		return fmt.Errorf("snapshot of %s: state is not JSON: %w", s.AggregateID, ErrInvalid)
	case len(s.State)+len(s.AggregateID)+len(AttrAggregateID)+len(AttrVersion)+len(AttrStateVersion)+len(AttrState)+64 > MaxItemBytes:
		return fmt.Errorf("snapshot of %s: %d bytes of state: %w", s.AggregateID, len(s.State), ErrTooLarge)
	}
	return nil
}
