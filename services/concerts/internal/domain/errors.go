package domain

import (
	"errors"
	"fmt"
)

// Rule violations: the request was well formed but the concert's state forbids it.
// Handlers map them to 409.
var (
	ErrCancelled        = errors.New("concert is cancelled")
	ErrStarted          = errors.New("concert has already started")
	ErrSoldOut          = errors.New("concert is sold out")
	ErrNotEnoughTickets = errors.New("not enough tickets left")
)

// ErrInvalid marks input that breaks a value rule (lengths, ranges, a start in the
// past). Handlers map it to 400.
var ErrInvalid = errors.New("invalid input")

// ValidationError names the offending field; errors.Is(err, ErrInvalid) holds.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s %s", e.Field, e.Reason) }

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
