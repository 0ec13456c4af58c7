// Command catch-up-sales is a Lambda function of the sales service.
package main

import (
	sales "github.com/concertsys/services/sales"
	"github.com/concertsys/services/sales/internal/wiring"
)

func main() { wiring.Main(sales.FunctionCatchUp) }
