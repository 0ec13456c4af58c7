package notifications

// Reads is this service's consumer contract: for each event type and schema version
// it consumes (its path under schemas/), the properties of the detail it reads. `make
// test` fails when a producer's schema no longer provides one of them
// (tools/schemagen -check). Keep it in step with internal/domain's decoding types.
func Reads() map[string][]string {
	return map[string][]string{
		"projections/ConcertViewUpdated.v1.json": {
			"metadata.eventId", "metadata.aggregateId", "metadata.aggregateVersion", "metadata.eventType", "metadata.schemaVersion",
			"data.id", "data.artist", "data.venue", "data.startsAt", "data.capacity", "data.priceCents",
			"data.ticketsSold", "data.ticketsAvailable", "data.status", "data.version", "data.updatedAt",
		},
	}
}
