// Package app runs the concerts commands and queries. Each is one type built by its
// NewX constructor and run by its Handle method; the commands change a concert through
// the Repository (load, per-concert lock, conflict retry, append) with an update
// function that lets the domain decide. The package knows nothing of HTTP.
package app

import (
	"errors"
	"fmt"
)

// Errors of the application layer. Domain errors (domain.ErrInvalid, ErrSoldOut, …)
// pass through unchanged.
var (
	// ErrNotFound: no concert has this id.
	ErrNotFound = errors.New("concert not found")
	// ErrPreconditionFailed: the caller's expected version is not the current one.
	ErrPreconditionFailed = errors.New("version precondition failed")
	// ErrContention: conflicting writes kept winning until the retries ran out.
	ErrContention = errors.New("too many concurrent changes")
	// ErrAlreadyExists: a concert with this id exists already.
	ErrAlreadyExists = errors.New("concert already exists")
)

// Meta is what every command carries besides its data.
type Meta struct {
	CorrelationID string
	CausationID   string
	// IfMatch is the version the caller expects the concert to have (If-Match);
	// nil means "whatever it is", and conflicts are retried.
	IfMatch *int64
}

// Result is what every write answers.
type Result struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
}

// PreconditionError reports the current version when If-Match is stale.
type PreconditionError struct {
	Expected, Current int64
}

func (e *PreconditionError) Error() string {
	if e.Current == 0 { // versions start at 1: there is no version to match
		return fmt.Sprintf("expected version %d, but the concert does not exist yet", e.Expected)
	}
	return fmt.Sprintf("expected version %d, current version is %d", e.Expected, e.Current)
}

// Is makes errors.Is(err, ErrPreconditionFailed) hold.
func (e *PreconditionError) Is(target error) bool { return target == ErrPreconditionFailed }
