// Command project-concerts is the project-concerts Lambda function of the projections service.
package main

import (
	projections "github.com/concertsys/services/projections"
	"github.com/concertsys/services/projections/internal/lambdamain"
)

func main() { lambdamain.Main(projections.FunctionProjectConcerts) }
