package main

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
)

// Case is one generated pattern with the events it is tried on; every (pattern, event)
// pair is one case of the comparison.
type Case struct {
	ID      int      `json:"id"`
	Pattern string   `json:"pattern"`
	Events  []string `json:"events"`
}

// Pools the generator draws from: chosen to sit on the edges where matchers differ.
var (
	keyPool = []string{"a", "b", "c", "a", "b", "A", "", "a.b", "x-y", "ü", "numeric", "prefix", "$or", "0"}

	wordPool = []string{"x", "y", "abc", "ABC", "Abc", "aBc", "concerts", "", " ", "a*c", "a\\*c", "*", "\"q", "q\"",
		"ab", "abcd", "xabc", "abcx", "line\nbreak", "tab\t", "\\", "\u00e9t\u00e9", "\u00c9T\u00c9", "e\u0301"}

	// Case-folding edge cases, old and new: special upper-casing (ß), Kelvin sign, dotted
	// and dotless i, final sigma, title-case digraphs, ligatures, non-BMP scripts, and
	// characters added in Unicode 14 and 16 (newer than some tables).
	foldPool = []string{"\u00df", "SS", "ss", "\u1e9e", "\u017f", "S", "s", "K", "k", "\u212a", "\u0130", "i", "I", "\u0131",
		"\u03a3", "\u03c3", "\u03c2", "\u01c4", "\u01c5", "\u01c6", "\ufb00", "FF", "ff", "\U0001f600", "\U00010400", "\U00010428",
		"\u13a0", "\uab70", "\u1c90", "\u10d0", "\U0001e900", "\U0001e922", "\u2c2f", "\u2c5f", "\ua7c0", "\ua7c1",
		"\U00010570", "\U00010597", "\ua7dc", "\u019b", "\U00010d50", "\U00010d70", "\u0149", "\u02bcN", "\u1f80", "\u1f88",
		"\u0345", "\u0399", "\u03b9", "\u1fbe"}

	ipPool = []string{"10.0.0.1", "10.0.0.2", "10.0.0.255", "10.0.1.0", "192.168.1.1", "0.0.0.0", "255.255.255.255",
		"2001:db8::1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1", "2001:db8::2", "::1", "::", "::ffff:10.0.0.1", "fe80::1",
		"1.2.3", "10.0.0.01", "256.1.1.1", "2001:db8::g", "10.0.0.1.5"}

	numPool = []string{"0", "-0", "0.0", "1", "-1", "5", "5.0", "5e0", "50e-1", "300", "3.0e2", "3e+2", "3E2", "0.1",
		"0.3", "0.30000000000000004", "0.30000000000000001", "1e-7", "0.0000001", "123456789012", "123456789012345678901",
		"9007199254740993", "1e22", "1e23", "1e308", "1.7976931348623157e308", "1.8e308", "-1.7976931348623157e308",
		"2.2250738585072014e-308", "2.225073858507201e-308", "4.9e-324", "5e-324", "49e-325", "-4.9e-324", "-5e-324",
		"1e-323", "9.9e-324", "1.5e-323", "2.5e-323", "2.4e-323", "1e-324", "2.4e-324", "2.5e-324", "1e-400",
		"4.94065645841246544e-324", "1.0e-322", "9.88e-324", "100000000000000000000", "1E5", "-5e0", "12.5", "-12.50"}

	cidrBits = []string{"0", "1", "8", "16", "24", "30", "31", "32", "33", "64", "96", "120", "127", "128", "129", "-1", "x", ""}
)

type gen struct {
	r     *rand.Rand
	tidy  bool               // this pattern avoids constructs event-ruler refuses, so events get tried
	hints map[string][]*node // event path -> values worth trying there
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }
func (g *gen) chance(p float64) bool   { return g.r.Float64() < p }

// Generate returns cases holding at least n pattern/event pairs, the same for the same
// seed.
func Generate(seed uint64, n, eventsPerPattern int) []Case {
	g := newGen(seed)
	var cases []Case
	pairs := 0
	for pairs < n {
		c := g.oneCase(len(cases), eventsPerPattern)
		cases = append(cases, c)
		pairs += len(c.Events)
	}
	return cases
}

func (g *gen) oneCase(id, events int) Case {
	g.hints = map[string][]*node{}
	g.tidy = g.chance(0.65)
	p := obj()
	detail := g.object([]string{"detail"}, 0, false)
	p.set("detail", detail)
	if g.chance(0.15) {
		p.set("source", g.valueList([]string{"source"}, false))
	}
	if g.chance(0.05) { // a top-level $or across envelope and detail
		or := arr(obj().set("source", arr(str("s"))), obj().set("detail-type", arr(str("T"))))
		p.set("$or", or)
	}
	if !g.tidy && g.chance(0.1) {
		g.breakPattern(p)
	}
	c := Case{ID: id, Pattern: p.String()}
	for i := 0; i < events; i++ {
		c.Events = append(c.Events, g.event().String())
	}
	return c
}

// object generates a pattern object at path (steps below the root).
func (g *gen) object(path []string, depth int, inOr bool) *node {
	o := obj()
	nf := 1 + g.r.IntN(3)
	for i := 0; i < nf; i++ {
		k := g.pick(keyPool)
		if k == "$or" || (depth < 2 && g.chance(0.08)) {
			o.set("$or", g.or(path, depth, inOr))
			continue
		}
		if inOr && g.chance(0.3) && k == "numeric" {
			k = "prefix" // reserved names inside $or are refused: keep some, not too many
		}
		sub := append(append([]string(nil), path...), k)
		if depth < 2 && g.chance(0.15) {
			o.set(k, g.object(sub, depth+1, inOr))
			continue
		}
		o.set(k, g.valueList(sub, inOr))
	}
	return o
}

func (g *gen) or(path []string, depth int, inOr bool) *node {
	a := arr()
	n := 2 + g.r.IntN(2)
	if !g.tidy && g.chance(0.1) {
		n = 1
	}
	for i := 0; i < n; i++ {
		a.members = append(a.members, g.object(path, depth+1, true))
	}
	return a
}

// valueList generates the array of allowed values of one field, recording hints.
func (g *gen) valueList(path []string, inOr bool) *node {
	a := arr()
	n := 1 + g.r.IntN(3)
	if !g.tidy && g.chance(0.04) {
		n = 0 // empty arrays are refused
	}
	for i := 0; i < n; i++ {
		a.members = append(a.members, g.matcher(strings.Join(path, "\x00")))
	}
	return a
}

func (g *gen) hint(key string, vs ...*node) { g.hints[key] = append(g.hints[key], vs...) }

func (g *gen) randString() string {
	switch g.r.IntN(4) {
	case 0:
		return g.pick(foldPool)
	case 1:
		return g.pick(foldPool) + g.pick(wordPool)
	default:
		return g.pick(wordPool)
	}
}

// caseVariants are strings that equal s ignoring case in one implementation or another.
func caseVariants(s string) []string {
	return []string{strings.ToUpper(s), strings.ToLower(s), strings.ToTitle(s), swapCase(s)}
}

func swapCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

func (g *gen) strHints(key string, s string) {
	g.hint(key, str(s), str(s+"z"), str("z"+s), str(g.pick(caseVariants(s))), str(g.pick(caseVariants(s))+"z"))
}

func (g *gen) matcher(key string) *node {
	switch g.r.IntN(16) {
	case 0: // exact string
		s := g.randString()
		g.strHints(key, s)
		return str(s)
	case 1: // exact number
		n := g.pick(numPool)
		g.hint(key, lit(n), lit(g.pick(numPool)))
		return lit(n)
	case 2: // null, true, false
		v := g.pick([]string{"null", "true", "false"})
		g.hint(key, lit(v), str(v))
		return lit(v)
	case 3:
		s := g.randString()
		g.strHints(key, s)
		if g.chance(0.3) {
			return obj().set("prefix", obj().set("equals-ignore-case", str(s)))
		}
		return obj().set("prefix", str(s))
	case 4:
		s := g.randString()
		g.strHints(key, s)
		if g.chance(0.3) {
			return obj().set("suffix", obj().set("equals-ignore-case", str(s)))
		}
		return obj().set("suffix", str(s))
	case 5:
		s := g.randString()
		g.strHints(key, s)
		return obj().set("equals-ignore-case", str(s))
	case 6:
		w := g.wildcard(key)
		return obj().set("wildcard", str(w))
	case 7, 8:
		return obj().set("anything-but", g.anythingBut(key))
	case 9, 10:
		return obj().set("numeric", g.numeric(key))
	case 11:
		addr := g.pick(ipPool)
		g.hint(key, str(addr), str(g.pick(ipPool)), str(g.pick(ipPool)))
		bits := g.pick(cidrBits)
		if g.tidy {
			bits = g.pick(cidrBits[:7])
		}
		return obj().set("cidr", str(addr+"/"+bits))
	case 12:
		g.hint(key, str(g.randString()), lit(g.pick(numPool)))
		return obj().set("exists", lit(g.pick([]string{"true", "false", "false"})))
	case 13: // an IP literal as an exact value
		addr := g.pick(ipPool)
		g.hint(key, str(addr), str(g.pick(ipPool)))
		return str(addr)
	case 14:
		s := g.randString()
		g.strHints(key, s)
		return obj().set("exactly", str(s))
	default:
		if g.tidy {
			return g.matcher(key)
		}
		return g.oddMatcher(key)
	}
}

func (g *gen) wildcard(key string) string {
	parts := []string{g.randString(), "*", g.randString()}
	switch g.r.IntN(6) {
	case 0:
		parts = []string{"*", g.randString()}
	case 1:
		parts = []string{g.randString(), "*"}
	case 2:
		if !g.tidy {
			parts = []string{g.randString(), "**", g.randString()} // consecutive stars are refused
		}
	case 3:
		parts = []string{g.randString(), "\\*", g.randString(), "*"}
	case 4:
		parts = []string{"*", g.randString(), "*", g.randString(), "*"}
	}
	w := strings.Join(parts, "")
	plain := strings.ReplaceAll(strings.ReplaceAll(w, "\\*", "*"), "*", "zz")
	g.hint(key, str(plain), str(strings.ReplaceAll(w, "*", "")), str(strings.ToUpper(plain)))
	return w
}

func (g *gen) anythingBut(key string) *node {
	strs := func() *node {
		a := arr()
		for i := 0; i < 1+g.r.IntN(3); i++ {
			s := g.randString()
			g.strHints(key, s)
			a.members = append(a.members, str(s))
		}
		return a
	}
	form := g.r.IntN(12)
	if g.tidy && form == 4 {
		form = 2
	}
	switch form {
	case 0:
		s := g.randString()
		g.strHints(key, s)
		return str(s)
	case 1:
		n := g.pick(numPool)
		g.hint(key, lit(n), lit(g.pick(numPool)))
		return lit(n)
	case 2:
		return strs()
	case 3:
		a := arr()
		for i := 0; i < 1+g.r.IntN(3); i++ {
			n := g.pick(numPool)
			g.hint(key, lit(n))
			a.members = append(a.members, lit(n))
		}
		return a
	case 4:
		return g.pick2(arr(), arr(str("x"), lit("1")), arr(lit("null")), arr(lit("true")))
	default:
		op := g.pick([]string{"prefix", "suffix", "equals-ignore-case", "wildcard"})
		var v *node
		inner := g.r.IntN(5)
		if g.tidy && inner == 2 {
			inner = 3
		}
		switch inner {
		case 0:
			v = arr() // empty lists: refused when first in the field's list
		case 1:
			s := g.randString()
			g.strHints(key, s)
			if op == "wildcard" {
				s = g.wildcard(key)
			}
			v = str(s)
		case 2:
			v = g.pick2(str(""), arr(str("")), arr(lit("1")), lit("1"))
		default:
			v = strs()
			if op == "wildcard" {
				v = arr(str(g.wildcard(key)), str(g.wildcard(key)))
			}
		}
		return obj().set(op, v)
	}
}

func (g *gen) pick2(ns ...*node) *node { return ns[g.r.IntN(len(ns))] }

func (g *gen) numeric(key string) *node {
	n1, n2 := g.pick(numPool), g.pick(numPool)
	g.hint(key, lit(n1), lit(n2), lit(g.pick(numPool)), lit(g.pick(numPool)))
	if f1, err1 := strconv.ParseFloat(n1, 64); err1 == nil {
		if f2, err2 := strconv.ParseFloat(n2, 64); err2 == nil && f2 < f1 {
			n1, n2 = n2, n1
		}
	}
	ops := []string{"=", "<", "<=", ">", ">="}
	form := g.r.IntN(8)
	if g.tidy && form >= 5 {
		form -= 3
	}
	switch form {
	case 0, 1, 2:
		return arr(str(g.pick(ops)), lit(n1))
	case 3, 4:
		return arr(str(g.pick([]string{">", ">="})), lit(n1), str(g.pick([]string{"<", "<="})), lit(n2))
	case 5:
		return arr(str(g.pick(ops)), str(n1)) // a string operand is refused
	case 6:
		return arr(str(">"), lit(n2), str("<"), lit(n1)) // possibly reversed
	default:
		return g.pick2(arr(), arr(str("<")), arr(str("=="), lit(n1)), arr(str("<"), lit(n1), str(">"), lit(n2)), arr(str("="), lit(n1), lit(n2)))
	}
}

// oddMatcher is a construct event-ruler may refuse: wrong types, unknown operators,
// several keys in one operator object.
func (g *gen) oddMatcher(key string) *node {
	g.hint(key, str("x"))
	return g.pick2(
		obj(),
		obj().set("prefix", lit("1")),
		obj().set("prefix", str("")),
		obj().set("suffix", str("")),
		obj().set("equals-ignore-case", lit("1")),
		obj().set("exists", str("true")),
		obj().set("cidr", lit("1")),
		obj().set("numeric", lit("1")),
		obj().set("bogus", str("x")),
		obj().set("prefix", str("a")).set("suffix", str("b")),
		obj().set("prefix", obj().set("equals-ignore-case", lit("1"))),
		obj().set("prefix", obj().set("wildcard", str("a"))),
		obj().set("anything-but", obj().set("bogus", str("x"))),
		obj().set("anything-but", obj().set("prefix", str("a")).set("suffix", str("b"))),
		obj().set("anything-but", obj()),
		obj().set("anything-but", lit("null")),
		obj().set("wildcard", str("a**b")),
		arr(str("x")),
	)
}

// breakPattern makes the pattern invalid in a way a user might: a scalar field value,
// an empty object, a non-array $or.
func (g *gen) breakPattern(p *node) {
	d := p.get("detail")
	switch g.r.IntN(5) {
	case 0:
		d.set("z", str("x"))
	case 1:
		d.set("z", obj())
	case 2:
		d.set("$or", obj().set("a", arr(str("x"))))
	case 3:
		d.set("$or", str("x"))
	default:
		d.set("$or", arr(obj().set("numeric", arr(str("x")))))
	}
}

// event builds an envelope whose detail takes values from the hints.
func (g *gen) event() *node {
	ev := obj().
		set("version", str("0")).
		set("id", str("6a7e8feb-b491-4cf7-a9f1-bf3703467718")).
		set("detail-type", str("T")).
		set("source", str(g.pick([]string{"s", "concerts", "x"}))).
		set("account", str("123456789012")).
		set("time", str("2026-01-01T00:00:00Z")).
		set("region", str("us-east-1")).
		set("resources", arr())
	detail := obj()
	for path, vals := range sortedHints(g.hints) {
		steps := strings.Split(path, "\x00")
		if steps[0] != "detail" || g.chance(0.12) {
			continue
		}
		var v *node
		switch {
		case g.chance(0.08):
			v = lit(g.pick(numPool))
		case g.chance(0.08):
			v = str(g.randString())
		default:
			v = vals[g.r.IntN(len(vals))]
		}
		if g.chance(0.15) {
			v = arr(v.clone(), vals[g.r.IntN(len(vals))].clone())
		}
		g.place(detail, steps[1:], v.clone())
	}
	if g.chance(0.1) { // fields no pattern names, including an empty key
		detail.set(g.pick([]string{"", "zz", "a.b"}), str("x"))
	}
	ev.set("detail", detail)
	return ev
}

// place puts v at the pattern path steps (each may hold dots) below o, sometimes splitting
// dotted keys into nested objects and sometimes putting an object inside an array.
func (g *gen) place(o *node, steps []string, v *node) {
	if len(steps) == 0 {
		return
	}
	k := steps[0]
	if strings.Contains(k, ".") && g.chance(0.5) {
		parts := strings.Split(k, ".")
		steps = append(parts, steps[1:]...)
		k = steps[0]
	}
	if len(steps) == 1 {
		o.set(k, v)
		return
	}
	child := o.get(k)
	switch {
	case child != nil && child.kind == kObject:
	case child != nil && child.kind == kArray && len(child.members) > 0 && child.members[0].kind == kObject:
		child = child.members[g.r.IntN(len(child.members))]
	default:
		child = obj()
		if g.chance(0.15) {
			o.set(k, arr(child, obj()))
		} else {
			o.set(k, child)
		}
	}
	g.place(child, steps[1:], v)
}
