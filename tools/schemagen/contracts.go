package main

import (
	"fmt"
	"sort"

	"github.com/concertsys/platform/testkit/schemavalidate"

	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/projections"
)

// Consumer is one service's consumer contract: the properties it reads from each
// event type version it consumes (schema path -> dotted property paths).
type Consumer struct {
	Service string
	Reads   map[string][]string
}

// consumers is every consumer's declared contract (each in its service root package;
// consumers never import producers' Go packages, only this tool imports both).
func consumers() []Consumer {
	out := []Consumer{
		{Service: projections.Name, Reads: projections.Reads()},
		{Service: notifications.Name, Reads: notifications.Reads()},
	}
	for _, r := range registered {
		out = append(out, Consumer{Service: r.describe().Name, Reads: r.reads()})
	}
	return out
}

// CheckConsumers returns one message per property a consumer reads that the
// schemas no longer provide.
func CheckConsumers(schemas map[string]map[string]any, cs []Consumer) []string {
	var out []string
	for _, c := range cs {
		for path, props := range c.Reads {
			s, ok := schemas[path]
			if !ok {
				out = append(out, fmt.Sprintf("consumer %s reads %s, which schemas/ no longer has: keep publishing that version until %s reads a newer one",
					c.Service, path, c.Service))
				continue
			}
			for _, p := range props {
				if !schemavalidate.Provides(s, p) {
					out = append(out, fmt.Sprintf("consumer %s reads property %s of %s, which the producer's schema no longer provides: restore it, or ship the change as a new schema version beside this one",
						c.Service, p, path))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
