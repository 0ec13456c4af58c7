package main

import sales "github.com/concertsys/services/sales"

// The sales service, added with tools/newservice.
func init() {
	register(registration{describe: sales.Describe, reads: sales.Reads})
}
