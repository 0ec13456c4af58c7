package eventlogtest_test

import (
	"fmt"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/testkit/eventlogtest"
)

// NewEvents builds a valid batch for tests of code that uses the log.
func ExampleNewEvents() {
	batch := eventlogtest.NewEvents("c-1", 3, 2)
	for _, e := range batch {
		fmt.Println(e.AggregateID, e.Version, e.EventType)
	}
	fmt.Println(eventlog.ValidateBatch(batch))
	// Output:
	// c-1 3 TestHappened
	// c-1 4 TestHappened
	// <nil>
}
