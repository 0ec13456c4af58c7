package main

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
)

// Violation is one change between a released schema and the current one that a
// consumer built against the released schema may not survive.
type Violation struct {
	Schema   string // schema path under schemas/, e.g. "concerts/TicketsSold.v1.json"
	Property string // dotted property path, e.g. "data.quantity"; "" for the whole document
	Rule     string // which rule the change breaks, e.g. "property-removed"
	Detail   string // what changed, e.g. `enum lost "soldout"`
}

// The compatibility rules. Within one schema version only a new optional property
// and widened constraints pass; everything else is one of these.
const (
	RuleSchemaRemoved      = "schema-removed"                 // a released event type/version is no longer generated
	RulePropertyRemoved    = "property-removed"               // removed or renamed
	RuleTypeChanged        = "type-changed"                   // a type the released schema allowed is gone
	RuleMadeRequired       = "made-required"                  // an optional property became required
	RuleNewRequired        = "new-required-property"          // a new property that is required
	RuleMadeOptional       = "made-optional"                  // a required property may now be missing
	RuleEnumNarrowed       = "enum-narrowed"                  // an enum lost a value, or an enum was added
	RuleConstChanged       = "const-changed"                  // a const was added or changed
	RuleMinimumRaised      = "minimum-raised"                 // minimum, exclusiveMinimum, minLength, minItems, minProperties
	RuleMaximumLowered     = "maximum-lowered"                // maximum, exclusiveMaximum, maxLength, maxItems, maxProperties
	RulePatternChanged     = "pattern-changed"                // a pattern was added or changed
	RuleFormatChanged      = "format-changed"                 // a format was added or changed
	RuleAdditionalNarrowed = "additional-properties-narrowed" // additionalProperties true (or absent) became false
	RuleItemsNarrowed      = "items-narrowed"                 // an items schema was added where any item was allowed
)

func (v Violation) String() string {
	name, version := schemaNameVersion(v.Schema)
	where := "the schema"
	if v.Property != "" {
		where = "property " + v.Property
	}
	return fmt.Sprintf("%s (%s v%d): %s: %s [rule %s]. Within schema version %d only backward-compatible changes ship "+
		"(a new optional property, a widened constraint); to ship this one, add a new Go type (e.g. %sV%d) as a new "+
		"catalog entry with Version: %d beside the released version %d (make schemas; make release-schemas records it), "+
		"keep publishing v%d until every consumer reads v%d, then retire it: make release-schemas RETIRE=%s",
		v.Schema, name, version, where, v.Detail, v.Rule, version, name, version+1, version+1, version, version, version+1, v.Schema)
}

// schemaNameVersion parses "source/Name.vN.json".
func schemaNameVersion(path string) (string, int) {
	base := path[strings.LastIndex(path, "/")+1:]
	base = strings.TrimSuffix(base, ".json")
	i := strings.LastIndex(base, ".v")
	if i < 0 {
		return base, 0
	}
	var n int
	fmt.Sscanf(base[i+2:], "%d", &n)
	return base[:i], n
}

// Compare returns every incompatible change from the released schemas to the current
// ones, keyed alike by path under schemas/. Schemas that are new (not released yet)
// are never violations. The result is sorted.
func Compare(released, current map[string]map[string]any) []Violation {
	var out []Violation
	for path, old := range released {
		cur, ok := current[path]
		if !ok {
			out = append(out, Violation{Schema: path, Rule: RuleSchemaRemoved,
				Detail: "the released event type version is no longer generated (consumers may still receive it)"})
			continue
		}
		c := &comparer{schema: path}
		c.node("", old, cur)
		out = append(out, c.out...)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Schema != b.Schema {
			return a.Schema < b.Schema
		}
		if a.Property != b.Property {
			return a.Property < b.Property
		}
		return a.Rule < b.Rule
	})
	return out
}

type comparer struct {
	schema string
	out    []Violation
}

func (c *comparer) add(prop, rule, format string, args ...any) {
	c.out = append(c.out, Violation{Schema: c.schema, Property: prop, Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// node compares one schema node (at the dotted property path prop) of the released
// schema with the current one.
func (c *comparer) node(prop string, old, cur map[string]any) {
	// type: every type the released schema allowed must still be allowed.
	if ot, ok := types(old); ok {
		ct, cok := types(cur)
		if cok {
			for _, t := range ot {
				if !slices.Contains(ct, t) && !(t == "integer" && slices.Contains(ct, "number")) {
					c.add(prop, RuleTypeChanged, "type %s became %s", strings.Join(ot, "|"), strings.Join(ct, "|"))
					break
				}
			}
		}
	}

	// enum: the current enum must keep every released value; an enum where there
	// was none narrows.
	if ce, ok := cur["enum"].([]any); ok {
		if oe, ok := old["enum"].([]any); ok {
			for _, v := range oe {
				if !containsJSON(ce, v) {
					c.add(prop, RuleEnumNarrowed, "enum lost %s", jsonText(v))
				}
			}
		} else {
			c.add(prop, RuleEnumNarrowed, "enum %s added where any value was allowed", jsonText(ce))
		}
	}
	if cv, ok := cur["const"]; ok {
		if ov, ok := old["const"]; !ok {
			c.add(prop, RuleConstChanged, "const %s added", jsonText(cv))
		} else if jsonText(ov) != jsonText(cv) {
			c.add(prop, RuleConstChanged, "const %s became %s", jsonText(ov), jsonText(cv))
		}
	}

	// Lower bounds may only go down or disappear; upper bounds only up or disappear.
	bounds := []struct {
		sign  int // the direction of a narrowing change
		rule  string
		moved string
		keys  []string
	}{
		{+1, RuleMinimumRaised, "raised", []string{"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}},
		{-1, RuleMaximumLowered, "lowered", []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}},
	}
	for _, b := range bounds {
		for _, k := range b.keys {
			cn, ok := number(cur[k])
			if !ok {
				continue
			}
			on, had := number(old[k])
			switch {
			case !had:
				c.add(prop, b.rule, "%s %s added", k, cn.RatString())
			case cn.Cmp(on) == b.sign:
				c.add(prop, b.rule, "%s %s %s to %s", k, on.RatString(), b.moved, cn.RatString())
			}
		}
	}
	for k, rule := range map[string]string{"pattern": RulePatternChanged, "format": RuleFormatChanged} {
		if cs, ok := cur[k].(string); ok {
			if os, had := old[k].(string); !had {
				c.add(prop, rule, "%s %q added", k, cs)
			} else if os != cs {
				c.add(prop, rule, "%s %q became %q", k, os, cs)
			}
		}
	}
	// additionalProperties: absent or true means anything goes; false or a schema narrows.
	if allowsAny(old["additionalProperties"]) && !allowsAny(cur["additionalProperties"]) {
		c.add(prop, RuleAdditionalNarrowed, "additionalProperties %s became %s",
			jsonTextOr(old["additionalProperties"], "true"), jsonText(cur["additionalProperties"]))
	}

	// Properties: none removed, none newly required, none newly optional.
	oldProps, _ := old["properties"].(map[string]any)
	curProps, _ := cur["properties"].(map[string]any)
	oldReq, curReq := stringSet(old["required"]), stringSet(cur["required"])
	for _, name := range sortedKeys(oldProps) {
		p := join(prop, name)
		cp, ok := curProps[name].(map[string]any)
		if !ok {
			c.add(p, RulePropertyRemoved, "removed or renamed")
			continue
		}
		if op, ok := oldProps[name].(map[string]any); ok {
			c.node(p, op, cp)
		}
		switch {
		case curReq[name] && !oldReq[name]:
			c.add(p, RuleMadeRequired, "optional property became required")
		case oldReq[name] && !curReq[name]:
			c.add(p, RuleMadeOptional, "required property became optional (consumers rely on it being there)")
		}
	}
	for _, name := range sortedKeys(curProps) {
		if _, had := oldProps[name]; !had && curReq[name] {
			c.add(join(prop, name), RuleNewRequired, "new property is required (add it optional: omitempty in its json tag)")
		}
	}
	// Array items.
	if oi, ok := old["items"].(map[string]any); ok {
		if ci, ok := cur["items"].(map[string]any); ok {
			c.node(prop+"[]", oi, ci)
		}
	} else if ci, ok := cur["items"].(map[string]any); ok && len(ci) > 0 {
		c.add(prop+"[]", RuleItemsNarrowed, "items schema %s added where any item was allowed", jsonText(ci))
	}
}

func types(n map[string]any) ([]string, bool) {
	switch t := n["type"].(type) {
	case string:
		return []string{t}, true
	case []any:
		var out []string
		for _, v := range t {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	}
	return nil, false
}

func number(v any) (*big.Rat, bool) {
	var s string
	switch n := v.(type) {
	case nil:
		return nil, false
	case fmt.Stringer: // json.Number
		s = n.String()
	case float64:
		return new(big.Rat).SetFloat64(n), true
	case int:
		return big.NewRat(int64(n), 1), true
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

func allowsAny(v any) bool {
	switch a := v.(type) {
	case nil:
		return true
	case bool:
		return a
	case map[string]any:
		return len(a) == 0
	}
	return false
}

func stringSet(v any) map[string]bool {
	out := map[string]bool{}
	list, _ := v.([]any)
	for _, s := range list {
		if str, ok := s.(string); ok {
			out[str] = true
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func containsJSON(list []any, v any) bool {
	for _, x := range list {
		if jsonText(x) == jsonText(v) {
			return true
		}
	}
	return false
}
