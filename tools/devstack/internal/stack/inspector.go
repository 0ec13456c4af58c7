package stack

import (
	"sync"
)

// inspector counts what the bus did per rule since the stack started, for the
// inspector's subscriptions page. Rules are the services' subscriptions, so the map
// is bounded by them.
type inspector struct {
	mu          sync.Mutex
	rules       map[string]*ruleCounts
	queuedRules map[string]bool
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

func newInspector() *inspector {
	return &inspector{rules: map[string]*ruleCounts{}, queuedRules: map[string]bool{}}
}

func (in *inspector) counts(rule string) *ruleCounts {
	c, ok := in.rules[rule]
	if !ok {
		c = &ruleCounts{}
		in.rules[rule] = c
	}
	return c
}

// attempted counts the bus's attempt to hand an event to rule's target. A rule with a
// queue (every consumer's, as on AWS) counts its function's attempts in consumed
// instead; its bus attempts count only when they fail (the queue refused the event).
func (in *inspector) attempted(rule string, attempt int, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	c, queued := in.counts(rule), in.queuedRules[rule]
	if attempt == 1 {
		c.Matched++
	}
	switch {
	case err != nil:
		c.Attempts++
		c.Failed++
	case !queued:
		c.Attempts++
		c.Delivered++
	}
}

// consumed counts one run of rule's consumer on an event it read from the rule's queue.
func (in *inspector) consumed(rule string, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.counts(rule)
	c.Attempts++
	if err != nil {
		c.Failed++
	} else {
		c.Delivered++
	}
}

// queued marks rule as delivering through a queue (see attempted).
func (in *inspector) queued(rule string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.queuedRules[rule] = true
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
