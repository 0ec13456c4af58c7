package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Disagreement is one pair where event-ruler and devstack answer differently.
type Disagreement struct {
	Pattern, Event  string // minimised when Minimised
	OrigPattern     string
	OrigEvent       string
	Ruler, Devstack verdict
	Minimised       bool
	Known           *KnownDifference
	Cause           string
}

// direction names how the answers differ, e.g. "ruler=invalid pattern devstack=match".
func direction(ruler, dev verdict) string {
	return "event-ruler: " + ruler.String() + " / devstack: " + dev.String()
}

func disagree(ruler, dev verdict) bool {
	if ruler.Valid != dev.Valid {
		return true
	}
	if !ruler.Valid {
		return false
	}
	if (ruler.Err != "") != (dev.Err != "") {
		return true
	}
	return ruler.Err == "" && ruler.Match != dev.Match
}

// features lists what a pattern uses: operators (anything-but with its inner form),
// value kinds, $or, empty and dotted keys. Causes are grouped by them.
func features(pattern string) []string {
	n, err := parse(pattern)
	if err != nil {
		return []string{"malformed"}
	}
	set := map[string]bool{}
	var walk func(n *node, inList bool)
	walk = func(n *node, inList bool) {
		switch n.kind {
		case kObject:
			for i, k := range n.keys {
				v := n.members[i]
				switch {
				case inList:
					name := k
					if k == "anything-but" {
						switch v.kind {
						case kObject:
							if len(v.keys) > 0 {
								name += "/" + v.keys[0]
							}
						case kArray:
							name += "/list"
						}
					}
					if k == "exists" {
						name += ":" + v.text
					}
					set[name] = true
					continue
				case k == "$or":
					set["$or"] = true
					if v.kind == kArray {
						for _, branch := range v.members {
							walk(branch, false)
						}
						continue
					}
				case k == "":
					set["empty key"] = true
				case strings.Contains(k, "."):
					set["dotted key"] = true
				}
				walk(v, v.kind == kArray)
			}
		case kArray:
			for _, m := range n.members {
				switch m.kind {
				case kString:
					set["exact string"] = true
				case kLiteral:
					if m.text == "null" || m.text == "true" || m.text == "false" {
						set["exact "+m.text] = true
					} else {
						set["exact number"] = true
					}
				case kObject:
					walk(m, inList)
				case kArray:
					set["nested array"] = true
				}
			}
		}
	}
	walk(n, false)
	return slices.Sorted(func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	})
}

// KnownDifference is a documented, deliberate disagreement. A disagreement is covered
// when its direction contains Direction and its minimised pattern and event match the
// regular expressions.
type KnownDifference struct {
	ID        string `json:"id"`
	Reason    string `json:"reason"`
	Reference string `json:"reference"`
	Direction string `json:"direction"`
	Pattern   string `json:"pattern"`
	Event     string `json:"event"`

	pattern, event *regexp.Regexp
}

func loadKnown(path string) ([]*KnownDifference, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("known differences: %w", err)
	}
	return parseKnown(data)
}

func parseKnown(data []byte) ([]*KnownDifference, error) {
	var doc struct {
		Differences []*KnownDifference `json:"differences"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("known differences: %w", err)
	}
	for _, k := range doc.Differences {
		if k.ID == "" || k.Reason == "" || k.Reference == "" {
			return nil, fmt.Errorf("known difference %q: id, reason and reference are required", k.ID)
		}
		var err error
		if k.pattern, err = regexp.Compile(k.Pattern); err != nil {
			return nil, fmt.Errorf("known difference %s: pattern: %w", k.ID, err)
		}
		if k.event, err = regexp.Compile(k.Event); err != nil {
			return nil, fmt.Errorf("known difference %s: event: %w", k.ID, err)
		}
	}
	return doc.Differences, nil
}

func (k *KnownDifference) covers(d *Disagreement) bool {
	return strings.Contains(direction(d.Ruler, d.Devstack), k.Direction) &&
		k.pattern.MatchString(d.Pattern) && k.event.MatchString(d.Event)
}

func findKnown(known []*KnownDifference, d *Disagreement) *KnownDifference {
	for _, k := range known {
		if k.covers(d) {
			return k
		}
	}
	return nil
}

// cause groups disagreements: how the answers differ and what the (minimised) pattern
// uses.
func cause(d *Disagreement) string {
	return direction(d.Ruler, d.Devstack) + " | " + strings.Join(features(d.Pattern), ", ")
}
