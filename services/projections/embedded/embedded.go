// Package embedded holds the projections service's embedded (bbolt) adapters that
// devstack runs in place of DynamoDB. Deployed functions never import it, so no Lambda
// links bbolt.
package embedded

import "github.com/concertsys/services/projections/internal/adapters/boltviews"

// Views is the embedded view store; its CursorKey method gives a cursor key kept in
// the same file, and Close releases the file.
type Views = boltviews.Store

// OpenViews opens (creating if needed) the durable embedded view store at path.
func OpenViews(path string) (*Views, error) { return boltviews.Open(path) }
