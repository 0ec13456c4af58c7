package eventpattern_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/concertsys/tools/local/eventpattern"
	"github.com/concertsys/tools/local/eventpattern/conformance"
)

var fuzzSeedPatterns = []string{
	`{"source":["concerts"],"detail":{"data":{"n":[{"numeric":[">",0,"<=",5]}]}}}`,
	`{"a":[{"prefix":"x"},{"suffix":{"equals-ignore-case":"Y"}},{"wildcard":"*a\\*b*"}]}`,
	`{"a":[{"anything-but":{"prefix":["x","y"]}},{"exists":false},{"cidr":"10.0.0.0/8"}]}`,
	`{"$or":[{"a":{"b":["1"]}},{"a":{"c":[{"exists":true}]}}],"a":{"d":[null,true,1e3]}}`,
	`{"a":[{"equals-ignore-case":"ßΣİ"}],"a":[{"anything-but":[1,2.5]}]}`,
	`{"a":[{"numeric":["=",1e309]}]}`,
	`{"a":[`,
}

var fuzzSeedEvents = []string{
	`{"source":"concerts","detail":{"data":{"n":5}}}`,
	`{"a":[{"b":"1","c":null},{"d":1000.0}],"a.b":"1"}`,
	`{"a":["xYaab","10.1.2.3",[[]],{"":1}],"b":-0}`,
	`{"a":"SSσi̇","b":"\ud83d\udc8b\u0000"}`,
	`[1]`,
	`{"a":"\xff"}`,
}

// seedsFromConformance adds the shared vectors as seeds when they are present.
func seedsFromConformance() (patterns, events []string) {
	dir, err := conformance.Dir()
	if err != nil {
		return nil, nil
	}
	cases, err := conformance.LoadCases(dir)
	if err != nil {
		return nil, nil
	}
	for i, c := range cases {
		if i%10 == 0 { // a sample keeps the seed corpus quick to run
			patterns = append(patterns, string(c.PatternJSON()))
			events = append(events, string(c.Event))
		}
	}
	return patterns, events
}

func FuzzCompile(f *testing.F) {
	extra, _ := seedsFromConformance()
	for _, p := range append(fuzzSeedPatterns, extra...) {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, pattern []byte) {
		p, err := eventpattern.Compile(pattern)
		if (p == nil) == (err == nil) {
			t.Fatalf("got pattern %v and error %v, want exactly one", p, err)
		}
		if p != nil {
			_ = p.String()
		}
	})
}

func FuzzMatch(f *testing.F) {
	extraP, extraE := seedsFromConformance()
	patterns := append(fuzzSeedPatterns, extraP...)
	events := append(fuzzSeedEvents, extraE...)
	for i := range max(len(patterns), len(events)) {
		f.Add([]byte(patterns[i%len(patterns)]), []byte(events[i%len(events)]))
	}
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := eventpattern.Compile(pattern)
		if err != nil {
			return
		}
		got, err := p.Match(event)
		if err != nil {
			if got {
				t.Fatalf("got true with error %v", err)
			}
			var m map[string]any
			if json.Unmarshal(event, &m) == nil && m != nil {
				t.Fatalf("Match rejected %q (%v) but encoding/json decodes it as an object", event, err)
			}
			return
		}
		// Match on raw JSON and MatchValue on the decoded object must agree. Re-encoding
		// the decoded object removes duplicate keys, which only the raw walker sees.
		dec := json.NewDecoder(bytes.NewReader(event))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("Match accepted %q but encoding/json rejects it: %v", event, err)
		}
		canonical, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		gotRaw, err := p.Match(canonical)
		if err != nil {
			t.Fatalf("Match(%s): %v", canonical, err)
		}
		if gotValue := p.MatchValue(m); gotValue != gotRaw {
			t.Fatalf("MatchValue got %v, Match got %v\npattern %s\nevent   %s", gotValue, gotRaw, pattern, canonical)
		}
	})
}
