package eventcatalog_test

import (
	"fmt"

	"github.com/concertsys/platform/eventcatalog"
)

// Each event type and version has one schema file under schemas/.
func ExampleType_SchemaPath() {
	type ticketsSoldV1 struct {
		Quantity int `json:"quantity"`
	}
	t := eventcatalog.Type{Source: "concerts", Name: "TicketsSold", Version: 1, Data: ticketsSoldV1{}}
	fmt.Println(t.SchemaPath())
	// Output: concerts/TicketsSold.v1.json
}
