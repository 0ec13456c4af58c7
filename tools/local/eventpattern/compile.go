package eventpattern

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf16"
)

// fieldSpec is what a pattern requires of one field path.
type fieldSpec struct {
	matchers []valueMatcher
	absent   bool  // {"exists": false} is in the list
	refused  error // event-ruler refuses the rule if this list survives to the Machine
}

// ruleMap is one branch of the pattern after $or expansion: field path -> requirement.
type ruleMap map[string]*fieldSpec

// reservedInOr are names event-ruler refuses as field names inside $or.
var reservedInOr = map[string]bool{
	"exactly": true, "equals-ignore-case": true, "prefix": true, "suffix": true,
	"anything-but": true, "exists": true, "wildcard": true, "numeric": true, "cidr": true,
	"=": true, "<": true, "<=": true, ">": true, ">=": true,
	"regex": true, "not-wildcard": true, "not-equals-ignore-case": true,
	"date-after": true, "date-on-or-after": true, "date-before": true, "date-on-or-before": true,
	"in-date-range": true, "ip-address-in-range": true, "ip-address-not-in-range": true,
}

// maxBranches bounds $or expansion (branches multiply when $or blocks are combined).
const maxBranches = 10000

// compiler follows event-ruler's JsonRuleCompiler: fields are ANDed, each $or forks the
// branches collected so far, and a field path given twice keeps the last value list.
type compiler struct {
	rules []ruleMap
}

func (c *compiler) object(path []string, n jnode, insideOr bool) error {
	if len(n.members) == 0 {
		return errors.New(where(path, "", "empty objects are not allowed"))
	}
	for _, m := range n.members {
		if m.key == "$or" {
			// event-ruler takes "$or" as the operator whatever follows it, and refuses a
			// value that is not an array (it is never a field name).
			if m.value.kind != jArray {
				return errors.New(where(path, "$or", "must be an array of objects"))
			}
			if err := c.or(path, m.value); err != nil {
				return err
			}
			continue
		}
		if insideOr && reservedInOr[m.key] {
			return errors.New(where(path, m.key, "reserved name cannot be used as a field inside $or"))
		}
		switch m.value.kind {
		case jObject:
			if err := c.object(append(path[:len(path):len(path)], m.key), m.value, insideOr); err != nil {
				return err
			}
		case jArray:
			spec, err := valueList(m.value)
			if err != nil {
				return errors.New(where(path, m.key, err.Error()))
			}
			name := joinPath(path, m.key)
			if len(c.rules) == 0 {
				c.rules = append(c.rules, ruleMap{})
			}
			for _, r := range c.rules {
				r[name] = spec
			}
		default:
			return errors.New(where(path, m.key, "must be an object or an array, not "+m.value.kind.String()))
		}
	}
	return nil
}

func (c *compiler) or(path []string, arr jnode) error {
	current := cloneRules(c.rules)
	c.rules = nil
	for _, item := range arr.items {
		if item.kind != jObject {
			return errors.New(where(path, "$or", "only objects are allowed in a $or array"))
		}
		branch := &compiler{rules: cloneRules(current)}
		if len(branch.rules) == 0 {
			branch.rules = append(branch.rules, ruleMap{})
		}
		if err := branch.object(path, item, true); err != nil {
			return err
		}
		c.rules = append(c.rules, branch.rules...)
		if len(c.rules) > maxBranches {
			return fmt.Errorf("$or expands to more than %d alternatives", maxBranches)
		}
	}
	if len(arr.items) < 2 {
		return errors.New(where(path, "$or", "needs at least 2 objects"))
	}
	return nil
}

func cloneRules(rs []ruleMap) []ruleMap {
	out := make([]ruleMap, len(rs))
	for i, r := range rs {
		m := make(ruleMap, len(r))
		for k, v := range r {
			m[k] = v
		}
		out[i] = m
	}
	return out
}

func joinPath(path []string, key string) string {
	if len(path) == 0 {
		return key
	}
	return strings.Join(path, ".") + "." + key
}

func where(path []string, key, msg string) string {
	name := strings.Join(path, ".")
	if key != "" {
		name = joinPath(path, key)
	}
	if name == "" {
		return msg
	}
	return fmt.Sprintf("field %q: %s", name, msg)
}

// valueList compiles the array of allowed values of one field.
func valueList(arr jnode) (*fieldSpec, error) {
	if len(arr.items) == 0 {
		return nil, errors.New("empty arrays are not allowed")
	}
	spec := &fieldSpec{}
	for i, v := range arr.items {
		switch v.kind {
		case jObject:
			m, absent, err := operator(v)
			if err != nil {
				return nil, err
			}
			// event-ruler gives an empty anything-but list no state of its own: first in
			// the list it fails the rule (a null state), after another value it is inert.
			// It fails when the Machine adds the rule, so a list a later duplicate key
			// replaces never fails: the refusal waits until the rule is complete.
			if _, empty := m.(emptyAnythingBut); empty && i == 0 {
				spec.refused = errors.New("anything-but: empty value list not allowed")
			}
			if r, ok := m.(refusedMatcher); ok && spec.refused == nil {
				spec.refused = r.err
			}
			if absent {
				spec.absent = true
			} else {
				spec.matchers = append(spec.matchers, m)
			}
		case jString:
			if a, ok := parseIP(v.text); ok {
				spec.matchers = append(spec.matchers, exactIP{a: a})
			} else {
				spec.matchers = append(spec.matchers, exactString{s: v.text})
			}
		case jNumber:
			val, ok := comparableNumber(v.text)
			spec.matchers = append(spec.matchers, exactNumber{text: v.text, val: val, comparable: ok})
		case jTrue:
			spec.matchers = append(spec.matchers, exactLiteral{kind: vTrue})
		case jFalse:
			spec.matchers = append(spec.matchers, exactLiteral{kind: vFalse})
		case jNull:
			spec.matchers = append(spec.matchers, exactLiteral{kind: vNull})
		default:
			return nil, errors.New("match values must be strings, numbers, true, false, null or operator objects, not an array")
		}
	}
	return spec, nil
}

// operator compiles one {"operator": ...} object. absent reports {"exists": false}.
func operator(n jnode) (m valueMatcher, absent bool, err error) {
	if len(n.members) == 0 {
		return nil, false, errors.New("match expression name not found (empty object)")
	}
	if len(n.members) > 1 {
		return nil, false, fmt.Errorf("%s: only one key allowed in match expression, found %q", n.members[0].key, n.members[1].key)
	}
	name, v := n.members[0].key, n.members[0].value
	wrap := func(e error) error { return fmt.Errorf("%s: %w", name, e) }
	switch name {
	case "exactly":
		if v.kind != jString {
			return nil, false, wrap(errors.New("must be a string"))
		}
		return exactString{s: v.text}, false, nil
	case "prefix", "suffix":
		mode := foldPrefix
		if name == "suffix" {
			mode = foldSuffix
		}
		if v.kind == jObject {
			s, err := singleStringOp(v, "equals-ignore-case")
			if err != nil {
				return nil, false, wrap(err)
			}
			return newFoldMatcher(s, mode), false, nil
		}
		if v.kind != jString {
			return nil, false, wrap(errors.New("must be a string or {\"equals-ignore-case\": string}"))
		}
		if mode == foldPrefix {
			return prefixMatcher{p: v.text}, false, nil
		}
		return suffixMatcher{s: v.text}, false, nil
	case "equals-ignore-case":
		if v.kind != jString {
			return nil, false, wrap(errors.New("must be a string"))
		}
		return newFoldMatcher(v.text, foldEqual), false, nil
	case "wildcard":
		if v.kind != jString {
			return nil, false, wrap(errors.New("must be a string"))
		}
		w, err := compileWildcard(v.text)
		if err != nil {
			return nil, false, wrap(err)
		}
		return wildcardMatcher{w: w}, false, nil
	case "exists":
		switch v.kind {
		case jTrue:
			return existsMatcher{}, false, nil
		case jFalse:
			return nil, true, nil
		}
		return nil, false, wrap(errors.New("must be true or false"))
	case "cidr":
		if v.kind != jString {
			return nil, false, wrap(errors.New("must be a string"))
		}
		r, err := parseCIDR(v.text)
		if err != nil {
			return nil, false, wrap(err)
		}
		return cidrMatcher{r: r}, false, nil
	case "numeric":
		if v.kind != jArray {
			return nil, false, wrap(errors.New("must be an array"))
		}
		m, err := numeric(v.items)
		if err != nil {
			return nil, false, wrap(err)
		}
		return m, false, nil
	case "anything-but":
		m, err := anythingButOp(v)
		if err != nil {
			return nil, false, wrap(err)
		}
		return m, false, nil
	}
	return nil, false, fmt.Errorf("unrecognized match type %q", name)
}

// singleStringOp reads {"<op>": "string"}.
func singleStringOp(n jnode, op string) (string, error) {
	if len(n.members) == 0 {
		return "", errors.New("expression name not found (empty object)")
	}
	if n.members[0].key != op {
		return "", fmt.Errorf("unsupported operator %q", n.members[0].key)
	}
	if n.members[0].value.kind != jString {
		return "", fmt.Errorf("%s must be a string", op)
	}
	if len(n.members) > 1 {
		return "", errors.New("only one key allowed in match expression")
	}
	return n.members[0].value.text, nil
}

func numericOperand(items []jnode, i int, op string) (float64, error) {
	if i >= len(items) || items[i].kind != jNumber {
		return 0, fmt.Errorf("expected number after %q", op)
	}
	v, ok := comparableNumber(items[i].text)
	if !ok {
		return 0, fmt.Errorf("number %s cannot be compared (outside float64 range or more precise than float64)", items[i].text)
	}
	return v, nil
}

// refusedMatcher is a value JsonRuleCompiler accepts but the Machine refuses when it
// adds the rule (so a later duplicate key that replaces the list saves the pattern).
type refusedMatcher struct{ err error }

func (refusedMatcher) matches(*field) bool { return false }

func numeric(items []jnode) (valueMatcher, error) {
	if len(items) == 0 || items[0].kind != jString {
		return numericMatcher{}, errors.New("expected an operator (\"=\", \"<\", \"<=\", \">\", \">=\") as first element")
	}
	op := items[0].text
	val, err := numericOperand(items, 1, op)
	if err != nil {
		return numericMatcher{}, err
	}
	switch op {
	case "=", "<", "<=":
		// event-ruler's open-ended ranges run from -MaxFloat64 to MaxFloat64; a bound at
		// the far end leaves a range whose ends coincide, which its Machine refuses.
		if op != "=" && val == -math.MaxFloat64 {
			return refusedMatcher{fmt.Errorf("numeric: %q bound must be greater than the smallest number", op)}, nil
		}
		if len(items) > 2 {
			return numericMatcher{}, fmt.Errorf("too many elements after %q", op)
		}
		switch op {
		case "=":
			return numericMatcher{lo: val, hi: val, hasLo: true, hasHi: true}, nil
		case "<":
			return numericMatcher{hi: val, hasHi: true, hiOpen: true}, nil
		default:
			return numericMatcher{hi: val, hasHi: true}, nil
		}
	case ">", ">=":
		m := numericMatcher{lo: val, hasLo: true, loOpen: op == ">"}
		if len(items) == 2 {
			if val == math.MaxFloat64 {
				return refusedMatcher{fmt.Errorf("numeric: %q bound must be less than the largest number", op)}, nil
			}
			return m, nil
		}
		if items[2].kind != jString || (items[2].text != "<" && items[2].text != "<=") {
			return numericMatcher{}, fmt.Errorf("expected \"<\" or \"<=\" after the lower bound, found %s", items[2].text)
		}
		top, err := numericOperand(items, 3, items[2].text)
		if err != nil {
			return numericMatcher{}, err
		}
		if len(items) > 4 {
			return numericMatcher{}, errors.New("too many elements in numeric range")
		}
		if !(val < top) {
			return numericMatcher{}, fmt.Errorf("lower bound %s must be less than upper bound %s", items[1].text, items[3].text)
		}
		m.hi, m.hasHi, m.hiOpen = top, true, items[2].text == "<"
		return m, nil
	}
	return numericMatcher{}, fmt.Errorf("unrecognized numeric operator %q", op)
}

func anythingButOp(v jnode) (valueMatcher, error) {
	switch v.kind {
	case jString, jNumber:
		return anythingButValues([]jnode{v})
	case jArray:
		return anythingButValues(v.items)
	case jObject:
	default:
		return nil, errors.New("must be a string, a number, an array of them, or an operator object")
	}
	if len(v.members) == 0 {
		return nil, errors.New("expression name not found (empty object)")
	}
	op, inner := v.members[0].key, v.members[0].value
	switch op {
	case "prefix", "suffix", "equals-ignore-case", "wildcard":
	default:
		return nil, fmt.Errorf("unsupported anything-but operator %q", op)
	}
	var values []string
	switch inner.kind {
	case jString:
		values = []string{inner.text}
	case jArray:
		for _, it := range inner.items {
			if it.kind != jString {
				return nil, fmt.Errorf("%s values must be strings", op)
			}
			values = append(values, it.text)
		}
	default:
		return nil, fmt.Errorf("%s value must be a string or an array of strings", op)
	}
	if len(v.members) > 1 {
		return nil, errors.New("only one key allowed in anything-but expression")
	}
	if len(values) == 0 {
		return emptyAnythingBut{}, nil
	}
	switch op {
	case "prefix", "suffix":
		for _, s := range values {
			if s == "" {
				return nil, fmt.Errorf("empty %s not allowed", op)
			}
		}
		if op == "prefix" {
			return anythingButPrefix{ps: values}, nil
		}
		return anythingButSuffix{ss: values}, nil
	case "equals-ignore-case":
		m := anythingButFold{}
		for _, s := range values {
			m.fs = append(m.fs, newFoldMatcher(s, foldEqual))
		}
		return m, nil
	default:
		m := anythingButWildcard{}
		for _, s := range values {
			w, err := compileWildcard(s)
			if err != nil {
				return nil, fmt.Errorf("wildcard: %w", err)
			}
			m.ws = append(m.ws, w)
		}
		return m, nil
	}
}

func anythingButValues(items []jnode) (valueMatcher, error) {
	var hasNum, hasStr bool
	m := anythingBut{}
	for _, it := range items {
		switch it.kind {
		case jString:
			hasStr = true
			if m.strs == nil {
				m.strs = map[string]struct{}{}
			}
			m.strs[it.text] = struct{}{}
		case jNumber:
			hasNum = true
			val, ok := comparableNumber(it.text)
			if !ok {
				return nil, fmt.Errorf("number %s cannot be compared", it.text)
			}
			if m.nums == nil {
				m.nums = map[float64]struct{}{}
			}
			m.nums[val] = struct{}{}
		default:
			return nil, fmt.Errorf("values must be strings or numbers, not %s", it.kind)
		}
	}
	if hasNum == hasStr {
		if hasNum {
			return nil, errors.New("values must be all strings or all numbers, not mixed")
		}
		return nil, errors.New("needs at least one value")
	}
	m.numeric = hasNum
	return m, nil
}

// javaLess orders field paths as Java's String.compareTo does (UTF-16 code units), the
// order in which event-ruler evaluates a rule's fields; it matters for {"exists": false}
// inside arrays, which is checked against the array elements chosen so far.
func javaLess(a, b string) bool {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b))) < 0
}
