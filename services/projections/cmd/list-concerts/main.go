// Command list-concerts is the list-concerts Lambda function of the projections service.
package main

import (
	projections "github.com/concertsys/services/projections"
	"github.com/concertsys/services/projections/internal/wiring"
)

func main() { wiring.Main(projections.FunctionListConcerts) }
