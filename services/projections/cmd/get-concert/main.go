// Command get-concert is the get-concert Lambda function of the projections service.
package main

import (
	projections "github.com/concertsys/services/projections"
	"github.com/concertsys/services/projections/internal/lambdamain"
)

func main() { lambdamain.Main(projections.FunctionGetConcert) }
