// Command project-concerts is the project-concerts Lambda function of the projections service.
package main

import (
	projections "github.com/concertsys/services/projections"
	"github.com/concertsys/services/projections/internal/wiring"
)

func main() { wiring.Main(projections.FunctionProjectConcerts) }
