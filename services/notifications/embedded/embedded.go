// Package embedded holds the notifications service's embedded (bbolt) adapters that
// devstack runs in place of DynamoDB. Deployed functions never import it, so no Lambda
// links bbolt.
package embedded

import "github.com/concertsys/services/notifications/internal/adapters/boltstore"

// Store is the embedded connections store; Close releases its file.
type Store = boltstore.Store

// OpenStore opens the embedded connections store at path.
func OpenStore(path string) (*Store, error) { return boltstore.Open(path) }
