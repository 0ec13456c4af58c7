// Package eventcatalog lists the event types a service publishes, with a schema
// version and examples each. tools/schemagen turns catalogs into schemas/, and tests
// validate every produced event against them.
package eventcatalog

import "strconv"

// Type is one published event type at one schema version.
type Type struct {
	Source  string // EventBridge source, the producing service
	Name    string // EventBridge detail-type; explicit, never a Go type name
	Version int    // schema version, starting at 1
	// Data is a zero value of the Go type of the event's data, e.g. TicketsSoldV1{}.
	Data any
	// Examples are complete details (envelope.Typed values) that must validate.
	Examples []any
}

// SchemaPath is where the schema of t lives under schemas/, e.g.
// "concerts/TicketsSold.v1.json". The file name matches the event name constant.
func (t Type) SchemaPath() string {
	return t.Source + "/" + t.Name + ".v" + strconv.Itoa(t.Version) + ".json"
}
