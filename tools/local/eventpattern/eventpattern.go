// Package eventpattern matches JSON events against Amazon EventBridge event patterns with
// the semantics of aws/event-ruler (the library behind EventBridge), including its
// array-consistent matching: when a pattern names several fields inside an array of
// objects, they must all be satisfied by the same element.
//
// Compile a pattern once and call Match (raw JSON) or MatchValue (decoded JSON) for each
// event; a compiled Pattern is immutable and safe for concurrent use.
//
// Semantics follow event-ruler (commit 337e8d99, Machine.rulesForJSONEvent) and are
// checked against the shared conformance vectors (see package conformance):
//   - a field path given twice in the pattern text keeps the last value list, as
//     event-ruler and the EventBridge documentation say (it is not an error);
//   - numbers compare by value when event-ruler can compare them (finite float64 whose
//     Java Double.toString form is exactly the number), otherwise only by their exact text;
//   - "$or" is always the operator: a value that is not an array is refused, as
//     JsonRuleCompiler refuses it (Machine.addRule's fallback to the legacy compiler,
//     which would take it as a field name, is not followed);
//   - an event key is only walked into when event-ruler would (every step of it, split
//     at dots as Java does, is a step of a pattern path), so a pattern field whose last
//     step is empty ({"detail":{"":[…]}}) never sees a value;
//   - strings that are IP literals, in patterns and events, compare as addresses.
//
// Known, deliberate differences from event-ruler, all in corners no test asserts:
// equals-ignore-case works per Unicode code point (event-ruler works per UTF-16 unit and
// so mangles characters outside the BMP); event-ruler converts an event value once per
// field, so a field that has both numeric and IP patterns loses its IP matches there and
// not here; and trailing data after the pattern object is rejected here.
package eventpattern

import (
	"encoding/binary"
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
	steps    map[string]bool // every step of a used path, split as event-ruler splits it
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
	p := &Pattern{prefixes: map[string]int{}, steps: map[string]bool{}}
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
				for _, st := range javaSplitDot(name) {
					p.steps[st] = true
				}
			}
			sr.steps = append(sr.steps, step{key: idx, spec: r[name]})
		}
		p.rules = append(p.rules, sr)
	}
	if len(p.rules) == 0 {
		return nil, errors.New("invalid event pattern: no fields")
	}
	for _, r := range p.rules {
		for _, st := range r.steps {
			if st.spec.refused != nil {
				return nil, fmt.Errorf("invalid event pattern: field %q: %w", p.paths[st.key], st.spec.refused)
			}
		}
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

// javaSplitDot splits s at '.' as Java's String.split("\\.") does: trailing empty
// steps are dropped ("a." gives [a], "." gives none) and "" gives [""].
func javaSplitDot(s string) []string {
	if s == "" {
		return []string{""}
	}
	parts := strings.Split(s, ".")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// keyUsed reports whether event-ruler walks into an event key: it skips a key unless
// every step of it is a step of some pattern path. Only keys that are empty or contain
// a dot can fail this once the key's path is a prefix of a pattern path, because
// event-ruler drops trailing empty steps: {"detail":{"":["x"]}} has the single step
// "detail", so the event key "" under detail is never looked at.
func (p *Pattern) keyUsed(key string) bool {
	if key != "" && !strings.Contains(key, ".") {
		return true
	}
	if key == "" {
		return p.steps[""]
	}
	for _, st := range javaSplitDot(key) {
		if !p.steps[st] {
			return false
		}
	}
	return true
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

	// search state for the rule being evaluated
	steps    []step
	visits   int
	memo     map[string]bool  // failed (step, relevant chosen elements) states
	relevant []map[int32]bool // per step: arrays that steps from it on can see
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
	s.steps = nil
	s.memo = nil
	s.relevant = s.relevant[:0]
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
		s.steps = p.rules[i].steps
		s.chosen = s.chosen[:0]
		s.visits = 0
		s.memo = nil
		if s.search(0) {
			return true
		}
	}
	return false
}

// memoAfter is how many search nodes run before failed states are remembered. Most
// events finish far below it; past it, memoising keeps events built to make the search
// explode (many array elements, many fields) polynomial.
const memoAfter = 256

// search finds values for steps[i:] that are consistent with the array elements chosen
// so far (event-ruler's ACFinder, as a depth-first search).
func (s *scratch) search(i int) bool {
	if i == len(s.steps) {
		return true
	}
	s.visits++
	var key string
	if s.memo != nil || s.visits > memoAfter {
		if s.memo == nil {
			s.startMemo()
		}
		key = s.memoKey(i)
		if s.memo[key] {
			return false
		}
	}
	if s.tryStep(i) {
		return true
	}
	if s.memo != nil {
		if key == "" {
			key = s.memoKey(i)
		}
		s.memo[key] = true
	}
	return false
}

func (s *scratch) tryStep(i int) bool {
	st := s.steps[i]
	bucket := s.buckets[st.key]
	if st.spec.absent {
		present := false
		for _, fi := range bucket {
			if s.consistent(&s.fields[fi]) {
				present = true
				break
			}
		}
		if !present && s.search(i+1) {
			return true
		}
	}
	for j, fi := range bucket {
		f := &s.fields[fi]
		if !s.consistent(f) || !anyMatch(st.spec.matchers, f) || s.triedSame(bucket[:j], f, st.spec.matchers) {
			continue
		}
		mark := len(s.chosen)
		s.choose(f)
		if s.search(i + 1) {
			return true
		}
		s.chosen = s.chosen[:mark]
	}
	return false
}

// triedSame reports whether an earlier matching value lies in exactly the same array
// elements as f: choosing it led to the same state, which failed.
func (s *scratch) triedSame(earlier []int32, f *field, ms []valueMatcher) bool {
	fm := s.mem[f.memStart:f.memEnd]
	for _, ei := range earlier {
		e := &s.fields[ei]
		em := s.mem[e.memStart:e.memEnd]
		if len(em) != len(fm) {
			continue
		}
		same := true
		for k := range em {
			if em[k] != fm[k] {
				same = false
				break
			}
		}
		if same && s.consistent(e) && anyMatch(ms, e) {
			return true
		}
	}
	return false
}

// startMemo computes, for each step, the arrays that values of it or of later steps lie
// in: only the chosen elements of those arrays can still change the outcome.
func (s *scratch) startMemo() {
	s.memo = map[string]bool{}
	s.relevant = s.relevant[:0]
	seen := map[int32]bool{}
	s.relevant = append(s.relevant, make([]map[int32]bool, len(s.steps)+1)...)
	s.relevant[len(s.steps)] = map[int32]bool{}
	for i := len(s.steps) - 1; i >= 0; i-- {
		for _, fi := range s.buckets[s.steps[i].key] {
			f := &s.fields[fi]
			for _, m := range s.mem[f.memStart:f.memEnd] {
				seen[m.array] = true
			}
		}
		cur := make(map[int32]bool, len(seen))
		for a := range seen {
			cur[a] = true
		}
		s.relevant[i] = cur
	}
}

// memoKey encodes the step index and the chosen elements of the arrays still relevant.
func (s *scratch) memoKey(i int) string {
	rel := s.relevant[i]
	var pairs []memPair
	for _, c := range s.chosen {
		if rel[c.array] {
			pairs = append(pairs, c)
		}
	}
	slices.SortFunc(pairs, func(a, b memPair) int { return int(a.array) - int(b.array) })
	b := make([]byte, 0, 4+8*len(pairs))
	b = binary.LittleEndian.AppendUint32(b, uint32(i))
	for _, c := range pairs {
		b = binary.LittleEndian.AppendUint32(b, uint32(c.array))
		b = binary.LittleEndian.AppendUint32(b, uint32(c.index))
	}
	return string(b)
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
