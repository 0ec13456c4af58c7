package projections

// Reads is this service's consumer contract: for each event type and schema version
// it consumes (its path under schemas/), the properties of the detail it reads. `make
// test` fails when a producer's schema no longer provides one of them
// (tools/schemagen -check). Keep it in step with internal/domain's decoding types.
func Reads() map[string][]string {
	meta := []string{"metadata.aggregateId", "metadata.aggregateVersion", "metadata.eventType", "metadata.occurredAt"}
	// Every event's optional state (the concert after it), which the consumer
	// applies in any order; the event's own fields are read when it carries none.
	state := []string{"state.artist", "state.venue", "state.startsAt", "state.capacity", "state.priceCents",
		"state.ticketsSold", "state.cancelled"}
	with := func(data ...string) []string {
		out := append([]string(nil), meta...)
		for _, d := range append(data, state...) {
			out = append(out, "data."+d)
		}
		return out
	}
	return map[string][]string{
		"concerts/ConcertScheduled.v1.json":   with("artist", "venue", "startsAt", "capacity", "priceCents"),
		"concerts/ConcertUpdated.v1.json":     with("artist", "venue", "priceCents"),
		"concerts/ConcertRescheduled.v1.json": with("startsAt"),
		"concerts/TicketsSold.v1.json":        with("quantity", "ticketsSold", "ticketsAvailable"),
		"concerts/ConcertSoldOut.v1.json":     with("capacity"),
		"concerts/ConcertCancelled.v1.json":   with("reason"),
	}
}
