package main

import (
	"unicode/utf8"
)

// variants returns copies of n each with one simplification: a member or item removed,
// a string shortened, a number made plain, or one of those applied deeper. Every
// variant prints shorter than n, so shrinking always ends.
func variants(n *node) []*node {
	var out []*node
	switch n.kind {
	case kObject, kArray:
		for i := range n.members {
			c := n.clone()
			c.members = append(c.members[:i], c.members[i+1:]...)
			if c.kind == kObject {
				c.keys = append(c.keys[:i], c.keys[i+1:]...)
			}
			out = append(out, c)
		}
		if n.kind == kObject {
			for i, k := range n.keys {
				for _, shorter := range shorterStrings(k) {
					c := n.clone()
					c.keys[i] = shorter
					out = append(out, c)
				}
			}
		}
		for i, m := range n.members {
			for _, v := range variants(m) {
				c := n.clone()
				c.members[i] = v
				out = append(out, c)
			}
		}
	case kString:
		for _, s := range shorterStrings(n.text) {
			out = append(out, str(s))
		}
	case kLiteral:
		for _, s := range []string{"0", "1"} {
			if len(s) < len(n.text) {
				out = append(out, lit(s))
			}
		}
	}
	return out
}

// shorterStrings are the empty string, each half, and s less its last or first rune.
func shorterStrings(s string) []string {
	if s == "" {
		return nil
	}
	seen := map[string]bool{s: true}
	var out []string
	add := func(x string) {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	add("")
	runes := []rune(s)
	if len(runes) > 2 {
		add(string(runes[:len(runes)/2]))
		add(string(runes[len(runes)/2:]))
	}
	_, last := utf8.DecodeLastRuneInString(s)
	add(s[:len(s)-last])
	_, first := utf8.DecodeRuneInString(s)
	add(s[first:])
	return out
}

// eventVariants shrinks only an event's detail: the envelope stays whole, as
// TestEventPattern requires it.
func eventVariants(ev *node) []*node {
	var out []*node
	for i, k := range ev.keys {
		if k != "detail" {
			continue
		}
		for _, v := range variants(ev.members[i]) {
			c := ev.clone()
			c.members[i] = v
			out = append(out, c)
		}
	}
	return out
}

// shrink minimises a pattern/event pair while still(pattern, event) holds, greedily
// taking the first smaller variant that keeps it, within budget calls of still.
func shrink(pattern, event string, still func(pattern, event string) bool, budget int) (string, string) {
	p, errP := parse(pattern)
	e, errE := parse(event)
	if errP != nil || errE != nil {
		return pattern, event
	}
	calls := 0
	for progress := true; progress && calls < budget; {
		progress = false
		for _, v := range variants(p) {
			if calls >= budget {
				break
			}
			calls++
			if s := v.String(); still(s, event) {
				p, pattern, progress = v, s, true
				break
			}
		}
		if progress {
			continue
		}
		for _, v := range eventVariants(e) {
			if calls >= budget {
				break
			}
			calls++
			if s := v.String(); still(pattern, s) {
				e, event, progress = v, s, true
				break
			}
		}
	}
	return pattern, event
}
