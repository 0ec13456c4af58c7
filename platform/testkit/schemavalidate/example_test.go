package schemavalidate_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/concertsys/platform/testkit/schemavalidate"
)

// Validate a produced detail against the committed schemas.
func ExampleRegistry_Validate() {
	dir, err := schemavalidate.FindSchemasDir()
	if err != nil {
		fmt.Println(err)
		return
	}
	reg, err := schemavalidate.Load(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	detail := []byte(`{
	  "metadata": {"eventId": "e-1", "aggregateId": "c-1", "aggregateVersion": 7,
	    "eventType": "ConcertCancelled", "schemaVersion": 1, "occurredAt": "2026-05-01T18:00:00Z",
	    "correlationId": "req-1", "causationId": "req-1"},
	  "data": {"reason": "The venue flooded"}
	}`)
	fmt.Println(reg.Validate("concerts", "ConcertCancelled", 1, detail))

	err = reg.Validate("concerts", "ConcertCancelled", 1, []byte(`{"metadata": {}, "data": {"reason": ""}}`))
	fmt.Println(errors.Is(err, schemavalidate.ErrInvalid))
	// Output:
	// <nil>
	// true
}

// A consumer contract names the properties a consumer reads; Provides checks each
// against the producer's schema.
func ExampleProvides() {
	var schema map[string]any
	_ = json.Unmarshal([]byte(`{"properties":{"data":{"properties":{"quantity":{"type":"integer"}}}}}`), &schema)
	fmt.Println(schemavalidate.Provides(schema, "data.quantity"), schemavalidate.Provides(schema, "data.price"))
	// Output: true false
}
