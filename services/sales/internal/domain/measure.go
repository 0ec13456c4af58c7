package domain

import (
	"encoding/json"
	"time"
)

// Measure says what one subscribed event adds to its aggregate's hour: an amount and
// a count of events. The scaffold counts every event once; a service says here what
// its events mean. An event that measures nothing still makes its aggregate known.
func Measure(eventType string, data json.RawMessage) (Measurement, error) {
	return Measurement{Amount: 1, Events: 1}, nil
}

// Reads are the data properties Measure reads, by event type (the consumer contract,
// see Reads in the root package).
var Reads = map[string][]string{}

// HourView is one hour of the query's answer.
type HourView struct {
	Hour   time.Time `json:"hour"`
	Amount int64     `json:"amount"`
	Events int64     `json:"events"`
}

// TotalsView is the sum over every hour.
type TotalsView struct {
	Amount int64 `json:"amount"`
	Events int64 `json:"events"`
}
