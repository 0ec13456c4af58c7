package eventpattern

import (
	"net/netip"
	"strings"
)

// valueKind is the JSON type of an event leaf value.
type valueKind uint8

const (
	vString valueKind = iota
	vNumber
	vTrue
	vFalse
	vNull
)

// field is one leaf value of the event at a path the pattern uses.
type field struct {
	key      int32     // index of the pattern path
	kind     valueKind // JSON type
	text     string    // string contents, or number text as written
	memStart int32     // array membership: scratch.mem[memStart:memEnd]
	memEnd   int32
	numState uint8 // 0 not computed, 1 comparable, 2 not comparable
	ipState  uint8 // 0 not computed, 1 IP, 2 not an IP
	num      float64
	ip       netip.Addr
}

func (f *field) number() (float64, bool) {
	if f.kind != vNumber {
		return 0, false
	}
	if f.numState == 0 {
		f.numState = 2
		if v, ok := comparableNumber(f.text); ok {
			f.num, f.numState = v, 1
		}
	}
	return f.num, f.numState == 1
}

func (f *field) addr() (netip.Addr, bool) {
	if f.kind != vString {
		return netip.Addr{}, false
	}
	if f.ipState == 0 {
		f.ipState = 2
		if a, ok := parseIP(f.text); ok {
			f.ip, f.ipState = a, 1
		}
	}
	return f.ip, f.ipState == 1
}

// valueMatcher is one entry of a pattern's value list; the list matches a value when any
// entry does.
type valueMatcher interface {
	matches(f *field) bool
}

type exactString struct{ s string }

func (m exactString) matches(f *field) bool { return f.kind == vString && f.text == m.s }

// exactIP is a pattern string that is an IP literal: event-ruler turns it into a range
// of one address, so other spellings of the same address (case, zero compression) match.
type exactIP struct{ a netip.Addr }

func (m exactIP) matches(f *field) bool {
	a, ok := f.addr()
	if !ok {
		return false
	}
	if a.BitLen() != m.a.BitLen() {
		return crossFamilyIn(a, m.a, m.a) // see crossFamilyIn: a range of one address
	}
	return a == m.a
}

// exactNumber matches the same text, or an equal value when both are comparable.
type exactNumber struct {
	text       string
	val        float64
	comparable bool
}

func (m exactNumber) matches(f *field) bool {
	if f.kind != vNumber {
		return false
	}
	if f.text == m.text {
		return true
	}
	if !m.comparable {
		return false
	}
	v, ok := f.number()
	return ok && v == m.val
}

type exactLiteral struct{ kind valueKind }

func (m exactLiteral) matches(f *field) bool { return f.kind == m.kind }

type existsMatcher struct{}

func (existsMatcher) matches(*field) bool { return true }

// event-ruler matches prefixes against the quoted value ("abc") with the pattern's
// opening quote only ("ab), so a prefix may end with the value's closing quote.
func hasPrefixQuoted(v, p string) bool {
	if len(p) <= len(v) {
		return v[:len(p)] == p
	}
	return len(p) == len(v)+1 && p[len(v)] == '"' && p[:len(v)] == v
}

func hasSuffixQuoted(v, s string) bool {
	if len(s) <= len(v) {
		return v[len(v)-len(s):] == s
	}
	return len(s) == len(v)+1 && s[0] == '"' && s[1:] == v
}

type prefixMatcher struct{ p string }

func (m prefixMatcher) matches(f *field) bool {
	return f.kind == vString && hasPrefixQuoted(f.text, m.p)
}

type suffixMatcher struct{ s string }

func (m suffixMatcher) matches(f *field) bool {
	return f.kind == vString && hasSuffixQuoted(f.text, m.s)
}

type foldMatcher struct {
	f     *foldPattern
	mode  int
	quote bool // pattern contains a '"' (see hasPrefixQuoted)
}

func (m foldMatcher) matches(f *field) bool {
	return f.kind == vString && m.matchString(f.text)
}

func (m foldMatcher) matchString(v string) bool {
	if m.quote {
		switch m.mode {
		case foldPrefix:
			v += `"`
		case foldSuffix:
			v = `"` + v
		}
	}
	return m.f.match(v, m.mode)
}

type wildcardMatcher struct{ w *wildcard }

func (m wildcardMatcher) matches(f *field) bool { return f.kind == vString && m.w.match(f.text) }

// numericMatcher is a numeric comparison or range (and "=" with lo == hi, both closed).
type numericMatcher struct {
	lo, hi         float64
	hasLo, hasHi   bool
	loOpen, hiOpen bool
}

func (m numericMatcher) matches(f *field) bool {
	v, ok := f.number()
	if !ok {
		return false
	}
	if m.hasLo && (v < m.lo || (m.loOpen && v == m.lo)) {
		return false
	}
	if m.hasHi && (v > m.hi || (m.hiOpen && v == m.hi)) {
		return false
	}
	return true
}

type cidrMatcher struct{ r ipRange }

func (m cidrMatcher) matches(f *field) bool {
	a, ok := f.addr()
	return ok && m.r.contains(a)
}

// anythingBut excludes strings, or (numeric) numbers compared by value. Any other value,
// including null, booleans and numbers that are not comparable, passes.
type anythingBut struct {
	strs    map[string]struct{}
	nums    map[float64]struct{}
	numeric bool
}

func (m anythingBut) matches(f *field) bool {
	if m.numeric {
		v, ok := f.number()
		if !ok {
			return true
		}
		_, excluded := m.nums[v]
		return !excluded
	}
	if f.kind != vString {
		return true
	}
	_, excluded := m.strs[f.text]
	return !excluded
}

// emptyAnythingBut is {"anything-but": {"prefix"|"suffix"|"equals-ignore-case"|"wildcard": []}}
// after another value of the list: event-ruler adds nothing for it, so it matches nothing.
type emptyAnythingBut struct{}

func (emptyAnythingBut) matches(*field) bool { return false }

type anythingButFold struct{ fs []foldMatcher }

func (m anythingButFold) matches(f *field) bool {
	if f.kind != vString {
		return true
	}
	for _, x := range m.fs {
		if x.matchString(f.text) {
			return false
		}
	}
	return true
}

type anythingButPrefix struct{ ps []string }

func (m anythingButPrefix) matches(f *field) bool {
	if f.kind != vString {
		return true
	}
	for _, p := range m.ps {
		if hasPrefixQuoted(f.text, p) {
			return false
		}
	}
	return true
}

type anythingButSuffix struct{ ss []string }

func (m anythingButSuffix) matches(f *field) bool {
	if f.kind != vString {
		return true
	}
	for _, s := range m.ss {
		if hasSuffixQuoted(f.text, s) {
			return false
		}
	}
	return true
}

type anythingButWildcard struct{ ws []*wildcard }

func (m anythingButWildcard) matches(f *field) bool {
	if f.kind != vString {
		return true
	}
	for _, w := range m.ws {
		if w.match(f.text) {
			return false
		}
	}
	return true
}

func newFoldMatcher(s string, mode int) foldMatcher {
	return foldMatcher{f: compileFold(s), mode: mode, quote: strings.Contains(s, `"`)}
}
