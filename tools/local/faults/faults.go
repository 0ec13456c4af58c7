// Package faults injects failures into devstack's emulators from a seed, so a run
// shows what the system does when AWS fails and can be run again with the same faults.
// A SPEC (devstack -faults) is comma-separated key=value:
//
//	invoke=P   fraction of Lambda invocations failing before the handler runs
//	after=P    fraction of invocations whose handler ran to completion, then reported failure
//	put=P      fraction of PutEvents entries answered as failed entries
//	dup=P      fraction of bus deliveries handed to their rule's target twice
//	delay=D    random extra delay, uniform in [0, D), before a delivery (reorders)
//	seed=N     the seed (default: chosen at start and reported)
//
// Each emulator asks an Injector at one place: lambdainvoke (invoke, after), the bus's
// Put (put) and the bus's hand-off of a matched event to its rule (dup, delay). A nil
// *Injector injects nothing, so code without -faults behaves exactly as before.
//
// Decisions are reproducible: the n-th decision of a kind at a site (a function
// name, a rule name, the bus) is a pure function of the seed, the kind, the site and n.
// Concurrent work may reach the n-th decision in another order from run to run, so a
// seed fixes the faults each site sees, not the interleaving of the whole system.
package faults

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is one sort of fault, named as its SPEC key.
type Kind string

// The kinds of faults, in SPEC order.
const (
	Invoke Kind = "invoke"
	After  Kind = "after"
	Put    Kind = "put"
	Dup    Kind = "dup"
	Delay  Kind = "delay"
)

// Kinds lists every kind, in SPEC order.
var Kinds = []Kind{Invoke, After, Put, Dup, Delay}

// ErrInjected marks every failure this package caused, so logs and tests can tell
// injected failures from real ones.
var ErrInjected = errors.New("injected fault")

// MaxDelay bounds delay=D: a delivery held longer than this is a stall, not a
// reordering, and the timers would pile up.
const MaxDelay = time.Minute

// Spec is a parsed SPEC.
type Spec struct {
	Invoke, After, Put, Dup float64
	Delay                   time.Duration
	Seed                    uint64
}

// Parse reads a SPEC. Every key at most once, probabilities in [0, 1], delay a Go
// duration in [0, MaxDelay], seed an unsigned integer. Without seed=, seed is
// defaultSeed (pass a random one so runs differ, and report it so they can be
// repeated).
func Parse(spec string, defaultSeed uint64) (Spec, error) {
	s := Spec{Seed: defaultSeed}
	if strings.TrimSpace(spec) == "" {
		return s, errors.New("empty SPEC: want comma-separated key=value, e.g. invoke=0.2,seed=1")
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" || value == "" {
			return Spec{}, fmt.Errorf("%q is not key=value", part)
		}
		if seen[key] {
			return Spec{}, fmt.Errorf("%s given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case string(Invoke):
			s.Invoke, err = fraction(key, value)
		case string(After):
			s.After, err = fraction(key, value)
		case string(Put):
			s.Put, err = fraction(key, value)
		case string(Dup):
			s.Dup, err = fraction(key, value)
		case string(Delay):
			d, perr := time.ParseDuration(value)
			switch {
			case perr != nil:
				err = fmt.Errorf("delay %q: want a duration such as 50ms", value)
			case d < 0 || d > MaxDelay:
				err = fmt.Errorf("delay %s: want 0 to %s", value, MaxDelay)
			}
			s.Delay = d
		case "seed":
			s.Seed, err = strconv.ParseUint(value, 10, 64)
			if err != nil {
				err = fmt.Errorf("seed %q: want an unsigned integer", value)
			}
		default:
			return Spec{}, fmt.Errorf("unknown key %q: want invoke, after, put, dup, delay or seed", key)
		}
		if err != nil {
			return Spec{}, err
		}
	}
	return s, nil
}

func fraction(key, value string) (float64, error) {
	p, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
		return 0, fmt.Errorf("%s=%s: want a fraction from 0 to 1", key, value)
	}
	return p, nil
}

// String is the SPEC in canonical form, seed included, so it reproduces the run.
func (s Spec) String() string {
	f := func(p float64) string { return strconv.FormatFloat(p, 'g', -1, 64) }
	return fmt.Sprintf("invoke=%s,after=%s,put=%s,dup=%s,delay=%s,seed=%d",
		f(s.Invoke), f(s.After), f(s.Put), f(s.Dup), s.Delay, s.Seed)
}

// Injector makes the decisions of one Spec and counts what it injected. Safe for
// concurrent use; a nil *Injector injects nothing.
type Injector struct {
	spec     Spec
	mu       sync.Mutex
	counters map[siteKey]uint64
	injected [5]atomic.Uint64 // by index in Kinds
}

type siteKey struct {
	kind Kind
	site string
}

// New is an Injector for spec.
func New(spec Spec) *Injector {
	return &Injector{spec: spec, counters: map[siteKey]uint64{}}
}

// Spec is the active spec.
func (in *Injector) Spec() Spec { return in.spec }

// Counts is how many faults of each kind were injected so far (zero kinds included).
func (in *Injector) Counts() map[Kind]uint64 {
	out := make(map[Kind]uint64, len(Kinds))
	for i, k := range Kinds {
		out[k] = 0
		if in != nil {
			out[k] = in.injected[i].Load()
		}
	}
	return out
}

// Status is what devstack's /healthz reports: the SPEC and the counts.
type Status struct {
	Spec     string          `json:"spec"`
	Injected map[Kind]uint64 `json:"injected"`
}

// Status of the injector; nil when in is nil (no -faults).
func (in *Injector) Status() *Status {
	if in == nil {
		return nil
	}
	return &Status{Spec: in.spec.String(), Injected: in.Counts()}
}

// draw is the n-th uniform number in [0, 1) of kind at site: the seed, kind, site
// and n hashed, so it does not depend on what other sites drew.
func (in *Injector) draw(kind Kind, site string) float64 {
	k := siteKey{kind, site}
	in.mu.Lock()
	n := in.counters[k]
	in.counters[k] = n + 1
	in.mu.Unlock()
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], in.spec.Seed)
	binary.LittleEndian.PutUint64(b[8:], n)
	h.Write(b[:])
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(site))
	r := rand.New(rand.NewPCG(h.Sum64(), in.spec.Seed^n))
	return r.Float64()
}

func (in *Injector) count(kind Kind) {
	for i, k := range Kinds {
		if k == kind {
			in.injected[i].Add(1)
		}
	}
}

func (in *Injector) decide(kind Kind, site string) bool {
	if in == nil {
		return false
	}
	var p float64
	switch kind {
	case Invoke:
		p = in.spec.Invoke
	case After:
		p = in.spec.After
	case Put:
		p = in.spec.Put
	case Dup:
		p = in.spec.Dup
	}
	if p <= 0 {
		return false
	}
	if in.draw(kind, site) >= p {
		return false
	}
	in.count(kind)
	return true
}

// FailInvoke reports whether this invocation of function fails before its handler runs.
func (in *Injector) FailInvoke(function string) error {
	if !in.decide(Invoke, function) {
		return nil
	}
	return fmt.Errorf("function %s: %w (invoke): failed before the handler ran", function, ErrInjected)
}

// FailAfter reports whether this invocation of function, whose handler succeeded,
// reports failure anyway: the work is done and will be done again on the retry.
func (in *Injector) FailAfter(function string) error {
	if !in.decide(After, function) {
		return nil
	}
	return fmt.Errorf("function %s: %w (after): the handler ran to completion, failure reported", function, ErrInjected)
}

// EntryFailure is the error code and message of a PutEvents entry answered as failed,
// or "" for an entry left alone. The codes are those EventBridge answers for a
// transient failure of one entry (PutEventsResultEntry.ErrorCode).
func (in *Injector) EntryFailure(bus string) (code, message string) {
	if !in.decide(Put, bus) {
		return "", ""
	}
	if in.draw(Put, bus+"#code") < 0.5 {
		return "InternalFailure", "Internal service failure (" + ErrInjected.Error() + ")"
	}
	return "ThrottlingException", "Rate exceeded (" + ErrInjected.Error() + ")"
}

// Hand hands a matched event to its rule's target through deliver: once, or twice
// (copy 0 and copy 1, dup), each right away or after a random delay (delay). The
// caller must give copy 1 state of its own. Without faults deliver(0) runs before
// Hand returns.
func (in *Injector) Hand(rule string, deliver func(copy int)) {
	if in == nil {
		deliver(0)
		return
	}
	copies := 1
	if in.decide(Dup, rule) {
		copies = 2
	}
	for c := range copies {
		var d time.Duration
		if in.spec.Delay > 0 {
			d = time.Duration(in.draw(Delay, rule) * float64(in.spec.Delay))
		}
		if d <= 0 {
			deliver(c)
			continue
		}
		in.count(Delay)
		time.AfterFunc(d, func() { deliver(c) })
	}
}
