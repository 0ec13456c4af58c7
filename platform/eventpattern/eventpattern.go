// Package eventpattern matches JSON events against Amazon EventBridge event patterns with
// the semantics of aws/event-ruler (the library behind EventBridge), including its
// array-consistent matching: when a pattern names several fields inside an array of
// objects, they must all be satisfied by the same element.
//
// Compile a pattern once and call Match (raw JSON) or MatchValue (decoded JSON) for each
// event; a compiled Pattern is immutable and safe for concurrent use.
package eventpattern

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Pattern is a compiled event pattern.
type Pattern struct {
	rules    []subRule
	paths    []string       // field paths the pattern uses, by index
	prefixes map[string]int // every dotted prefix of a used path -> pathInfo index
	info     []pathInfo
}

// pathInfo tells the event walker what to do at a path.
type pathInfo struct {
	leaf   int32 // index into paths when the path itself is used, else -1
	parent bool  // some used path continues below this one
}

// subRule is one $or branch: every step must hold, evaluated in event-ruler's order.
type subRule struct {
	steps []step
}

type step struct {
	key  int32
	spec *fieldSpec
}

// Compile parses and validates an EventBridge event pattern (JSON text). An invalid
// pattern returns an error whose message gives the reason (e.g. `numeric: expected number
// after ">"`).
func Compile(pattern []byte) (*Pattern, error) {
	tree, err := parseTree(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid event pattern: malformed JSON: %w", err)
	}
	if tree.kind != jObject {
		return nil, fmt.Errorf("invalid event pattern: must be a JSON object, not %s", tree.kind)
	}
	c := &compiler{}
	if err := c.object(nil, tree, false); err != nil {
		return nil, fmt.Errorf("invalid event pattern: %w", err)
	}
	p := &Pattern{prefixes: map[string]int{}}
	keyIndex := map[string]int32{}
	for _, r := range c.rules {
		names := make([]string, 0, len(r))
		for name := range r {
			names = append(names, name)
		}
		slices.SortFunc(names, func(a, b string) int {
			switch {
			case a == b:
				return 0
			case javaLess(a, b):
				return -1
			default:
				return 1
			}
		})
		sr := subRule{}
		for _, name := range names {
			idx, ok := keyIndex[name]
			if !ok {
				idx = int32(len(p.paths))
				keyIndex[name] = idx
				p.paths = append(p.paths, name)
				p.addPath(name, idx)
			}
			sr.steps = append(sr.steps, step{key: idx, spec: r[name]})
		}
		p.rules = append(p.rules, sr)
	}
	if len(p.rules) == 0 {
		return nil, errors.New("invalid event pattern: no fields")
	}
	return p, nil
}

// addPath registers a used path and all its dotted prefixes. A pattern field "a.b"
// matches the event path a → b and also a top-level key named "a.b", as in event-ruler.
func (p *Pattern) addPath(name string, idx int32) {
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '.' {
			continue
		}
		prefix := name[:i]
		at, ok := p.prefixes[prefix]
		if !ok {
			at = len(p.info)
			p.prefixes[prefix] = at
			p.info = append(p.info, pathInfo{leaf: -1})
		}
		if i == len(name) {
			p.info[at].leaf = idx
		} else {
			p.info[at].parent = true
		}
	}
}

// String lists the compiled alternatives, for debugging.
func (p *Pattern) String() string {
	var b strings.Builder
	for i, r := range p.rules {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for j, s := range r.steps {
			if j > 0 {
				b.WriteString(" AND ")
			}
			b.WriteString(p.paths[s.key])
		}
		b.WriteByte(')')
	}
	return b.String()
}

// ErrNotObject is returned by Match when the event is not a JSON object.
var ErrNotObject = errors.New("eventpattern: event is not a JSON object")

// Match reports whether the event (a JSON object, e.g. a full EventBridge envelope)
// matches. It returns an error only if event is not a JSON object.
func (p *Pattern) Match(event []byte) (bool, error) {
	s := getScratch()
	defer putScratch(s)
	if err := s.walkJSON(p, event); err != nil {
		return false, err
	}
	return p.evaluate(s), nil
}

// MatchValue is Match for an event already decoded with json.Decoder.UseNumber()
// (map[string]any). float64 and other Go number types are accepted too.
func (p *Pattern) MatchValue(event map[string]any) bool {
	s := getScratch()
	defer putScratch(s)
	s.walkValue(p, event)
	return p.evaluate(s)
}

// ---- evaluation ---------------------------------------------------------------------

// memPair records that a value lies in element index of array id.
type memPair struct {
	array, index int32
}

type scratch struct {
	fields  []field
	mem     []memPair // field memberships, addressed by field.memStart/memEnd
	stack   []memPair // array elements enclosing the current walk position
	path    []byte
	buckets [][]int32 // per path index: indices into fields
	chosen  []memPair // memberships of the values chosen so far in the search
	arrays  int32
}

var scratchPool = sync.Pool{New: func() any { return &scratch{} }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.fields) > 4096 || cap(s.mem) > 1<<16 {
		return // don't keep huge buffers alive
	}
	s.fields = s.fields[:0]
	s.mem = s.mem[:0]
	s.stack = s.stack[:0]
	s.path = s.path[:0]
	s.chosen = s.chosen[:0]
	s.arrays = 0
	scratchPool.Put(s)
}

func (s *scratch) addField(key int32, kind valueKind, text string) {
	start := int32(len(s.mem))
	s.mem = append(s.mem, s.stack...)
	s.fields = append(s.fields, field{key: key, kind: kind, text: text, memStart: start, memEnd: int32(len(s.mem))})
}

func (p *Pattern) evaluate(s *scratch) bool {
	n := len(p.paths)
	if cap(s.buckets) < n {
		s.buckets = make([][]int32, n)
	}
	s.buckets = s.buckets[:n]
	for i := range s.buckets {
		s.buckets[i] = s.buckets[i][:0]
	}
	for i := range s.fields {
		k := s.fields[i].key
		s.buckets[k] = append(s.buckets[k], int32(i))
	}
	for i := range p.rules {
		s.chosen = s.chosen[:0]
		if s.search(p.rules[i].steps) {
			return true
		}
	}
	return false
}

// search finds values for the remaining steps that are consistent with the array
// elements already chosen (event-ruler's ACFinder, as a depth-first search).
func (s *scratch) search(steps []step) bool {
	if len(steps) == 0 {
		return true
	}
	st := steps[0]
	bucket := s.buckets[st.key]
	if st.spec.absent {
		present := false
		for _, fi := range bucket {
			if s.consistent(&s.fields[fi]) {
				present = true
				break
			}
		}
		if !present && s.search(steps[1:]) {
			return true
		}
	}
	for _, fi := range bucket {
		f := &s.fields[fi]
		if !s.consistent(f) || !anyMatch(st.spec.matchers, f) {
			continue
		}
		mark := len(s.chosen)
		s.choose(f)
		if s.search(steps[1:]) {
			return true
		}
		s.chosen = s.chosen[:mark]
	}
	return false
}

func anyMatch(ms []valueMatcher, f *field) bool {
	for _, m := range ms {
		if m.matches(f) {
			return true
		}
	}
	return false
}

// consistent reports whether f lies in the same element of every array that the values
// chosen so far lie in.
func (s *scratch) consistent(f *field) bool {
	for _, fm := range s.mem[f.memStart:f.memEnd] {
		for _, c := range s.chosen {
			if c.array == fm.array && c.index != fm.index {
				return false
			}
		}
	}
	return true
}

func (s *scratch) choose(f *field) {
	for _, fm := range s.mem[f.memStart:f.memEnd] {
		known := false
		for _, c := range s.chosen {
			if c.array == fm.array {
				known = true
				break
			}
		}
		if !known {
			s.chosen = append(s.chosen, fm)
		}
	}
}
