package sales

import "github.com/concertsys/services/sales/internal/domain"

// subscribed are the event types the subscription receives, by schema path under
// schemas/ (the version this service reads).
var subscribed = map[string]string{
	"concerts/ConcertScheduled.v1.json": "ConcertScheduled",
	"concerts/TicketsSold.v1.json":      "TicketsSold",
}

// Reads is this service's consumer contract: for each event type and schema version
// it consumes (its path under schemas/), the properties of the detail it reads. `make
// test` fails when a producer's schema no longer provides one of them
// (tools/schemagen -check). The metadata is what domain.ParseEvent reads; the data
// properties are what domain.Measure reads (domain.Reads).
func Reads() map[string][]string {
	out := map[string][]string{}
	for path, eventType := range subscribed {
		props := []string{"metadata.eventId", "metadata.aggregateId", "metadata.aggregateVersion", "metadata.eventType", "metadata.occurredAt"}
		for _, p := range domain.Reads[eventType] {
			props = append(props, "data."+p)
		}
		out[path] = props
	}
	return out
}
