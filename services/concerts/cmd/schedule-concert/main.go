// Command schedule-concert is the schedule-concert Lambda function of the concerts service.
package main

import (
	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/concerts/internal/wiring"
)

func main() { wiring.Main(concerts.FunctionScheduleConcert) }
