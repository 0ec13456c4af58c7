package main

import (
	"iter"
	"maps"
	"slices"
)

// sortedHints walks the hints in key order so a seed always gives the same events.
func sortedHints(h map[string][]*node) iter.Seq2[string, []*node] {
	return func(yield func(string, []*node) bool) {
		for _, k := range slices.Sorted(maps.Keys(h)) {
			if !yield(k, h[k]) {
				return
			}
		}
	}
}
