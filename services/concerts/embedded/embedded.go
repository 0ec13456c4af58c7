// Package embedded holds the concerts service's embedded (bbolt) adapters that devstack
// runs in place of DynamoDB. Deployed functions never import it, so no Lambda links bbolt.
package embedded

import (
	"time"

	"github.com/concertsys/services/concerts/internal/adapters/boltidempotency"
)

// Idempotency is the embedded idempotency store; Close releases its file.
type Idempotency = boltidempotency.Store

// OpenIdempotency opens the embedded idempotency store at path, in its own file
// (bbolt locks a file per process, so it cannot share the event log's).
func OpenIdempotency(path string) (*Idempotency, error) {
	return boltidempotency.Open(path, time.Now())
}
