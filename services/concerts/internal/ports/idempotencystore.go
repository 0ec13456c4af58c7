package ports

import (
	"context"
	"errors"
	"time"
)

// IdempotencyState is the life cycle of an idempotency record.
type IdempotencyState string

const (
	// InProgress: a request holds the key's lease and is running.
	InProgress IdempotencyState = "in-progress"
	// Completed: the response is stored and is replayed for the same request.
	Completed IdempotencyState = "completed"
)

// StoredResponse is the response replayed for a repeated request.
type StoredResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body"`
}

// IdempotencyRecord is what the store keeps per Idempotency-Key.
type IdempotencyRecord struct {
	Key         string
	Fingerprint string // hash of the request (route, concert, If-Match, body): same key, other request = 422
	AggregateID string // the concert the request writes to (chosen before running a create)
	State       IdempotencyState
	Token       string    // the lease holder; conditional writes compare it
	ClaimedAt   time.Time // when the first claim was made
	LeaseUntil  time.Time // an in-progress claim older than this was abandoned
	ExpiresAt   time.Time // after this the record is gone (the store's TTL)
	Response    StoredResponse
}

// IdempotencyStore keeps idempotency records with conditional writes, so that two
// concurrent requests with one key cannot both claim it.
type IdempotencyStore interface {
	// Create stores rec unless a record with its key exists (ErrRecordExists).
	Create(ctx context.Context, rec IdempotencyRecord) error
	// Get returns the record of key, or ErrRecordNotFound. A store may still return
	// records past ExpiresAt (DynamoDB's TTL deletes lazily); callers check.
	Get(ctx context.Context, key string) (IdempotencyRecord, error)
	// Replace overwrites the record of rec.Key if its stored Token is token, else
	// ErrTokenMismatch (also when there is no record).
	Replace(ctx context.Context, rec IdempotencyRecord, token string) error
	// Delete removes the record of key if its Token is token, else ErrTokenMismatch.
	Delete(ctx context.Context, key, token string) error
}

// Errors of IdempotencyStore implementations.
var (
	ErrRecordExists   = errors.New("idempotency record exists")
	ErrRecordNotFound = errors.New("idempotency record not found")
	ErrTokenMismatch  = errors.New("idempotency record held by another token")
)
