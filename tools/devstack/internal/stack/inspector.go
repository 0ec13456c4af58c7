package stack

import (
	"sync"
)

// inspector counts what the bus did per rule since the stack started, for the
// inspector's subscriptions page. Rules are the services' subscriptions, so the map
// is bounded by them.
type inspector struct {
	mu    sync.Mutex
	rules map[string]*ruleCounts
}

// ruleCounts are one rule's counters.
type ruleCounts struct {
	// Matched counts events delivered to the rule at least once (first attempts).
	Matched      uint64 `json:"matched"`
	Attempts     uint64 `json:"attempts"`
	Delivered    uint64 `json:"delivered"`
	Failed       uint64 `json:"failed"`
	DeadLettered uint64 `json:"deadLettered"`
}

func newInspector() *inspector { return &inspector{rules: map[string]*ruleCounts{}} }

func (in *inspector) counts(rule string) *ruleCounts {
	c, ok := in.rules[rule]
	if !ok {
		c = &ruleCounts{}
		in.rules[rule] = c
	}
	return c
}

func (in *inspector) attempted(rule string, attempt int, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.counts(rule)
	c.Attempts++
	if attempt == 1 {
		c.Matched++
	}
	if err != nil {
		c.Failed++
	} else {
		c.Delivered++
	}
}

func (in *inspector) deadLettered(rule string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.counts(rule).DeadLettered++
}

// ruleStats is a copy of every rule's counters.
func (in *inspector) ruleStats() map[string]ruleCounts {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]ruleCounts, len(in.rules))
	for name, c := range in.rules {
		out[name] = *c
	}
	return out
}
