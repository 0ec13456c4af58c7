// Package embedded holds the sales service's embedded (bbolt) store that devstack
// runs in place of DynamoDB. Deployed functions never import it, so no Lambda links
// bbolt.
package embedded

import "github.com/concertsys/services/sales/internal/adapters/boltstore"

// Store is the embedded store; Close releases its file.
type Store = boltstore.Store

// OpenStore opens (creating if needed) the durable embedded store at path.
func OpenStore(path string) (*Store, error) { return boltstore.Open(path) }
