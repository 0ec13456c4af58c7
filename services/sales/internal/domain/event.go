// Package domain is what the sales service knows: which subscribed event adds
// what to which hour of which aggregate (Measure), and how an event's detail is read.
package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Measurement is what one event adds to its hour.
type Measurement struct {
	Amount int64
	Events int64
}

// Entry is one event as the store records it: once per (AggregateID, Version).
type Entry struct {
	AggregateID string
	Version     int64
	EventID     string
	Hour        time.Time
	Measurement
}

// IDPattern is what an aggregate id may be (the ids the producer issues); anything
// else is refused before it reaches a store key.
var IDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ErrInvalidEvent is an event the consumer cannot apply, whatever the retries.
var ErrInvalidEvent = errors.New("invalid event")

// detail is the bus event's detail as schemas/ describes it.
type detail struct {
	Metadata struct {
		EventID          string    `json:"eventId"`
		AggregateID      string    `json:"aggregateId"`
		AggregateVersion int64     `json:"aggregateVersion"`
		EventType        string    `json:"eventType"`
		OccurredAt       time.Time `json:"occurredAt"`
	} `json:"metadata"`
	Data json.RawMessage `json:"data"`
}

// ParseEvent reads one bus event's detail into the entry it records.
func ParseEvent(raw json.RawMessage) (Entry, error) {
	var d detail
	if err := json.Unmarshal(raw, &d); err != nil {
		return Entry{}, fmt.Errorf("%w: detail: %w", ErrInvalidEvent, err)
	}
	m := d.Metadata
	switch {
	case !IDPattern.MatchString(m.AggregateID):
		return Entry{}, fmt.Errorf("%w: aggregateId %q does not match %s", ErrInvalidEvent, m.AggregateID, IDPattern)
	case m.AggregateVersion < 1:
		return Entry{}, fmt.Errorf("%w: aggregateVersion %d, want >= 1", ErrInvalidEvent, m.AggregateVersion)
	case m.OccurredAt.IsZero():
		return Entry{}, fmt.Errorf("%w: occurredAt missing", ErrInvalidEvent)
	}
	measured, err := Measure(m.EventType, d.Data)
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %s: %w", ErrInvalidEvent, m.EventType, err)
	}
	return Entry{AggregateID: m.AggregateID, Version: m.AggregateVersion, EventID: m.EventID,
		Hour: HourOf(m.OccurredAt), Measurement: measured}, nil
}

// HourOf is the bucket of t: its hour in UTC.
func HourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
