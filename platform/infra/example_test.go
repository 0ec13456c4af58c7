package infra_test

import (
	"fmt"

	"github.com/concertsys/platform/infra"
)

// The schema registry takes draft-04 schemas; Draft04 converts schemagen's draft 2020-12.
func ExampleDraft04() {
	out, err := infra.Draft04([]byte(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id": "https://schemas.concertsys.dev/concerts/TicketsSold.v1.json",
		"type": "object",
		"properties": {"eventType": {"const": "TicketsSold"}}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// {"$schema":"http://json-schema.org/draft-04/schema#","properties":{"eventType":{"enum":["TicketsSold"]}},"type":"object"}
}

func ExampleParameterName() {
	fmt.Println(infra.ParameterName("dev", infra.ParamBusName))
	// Output: /concertsys/dev/bus-name
}
