package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGenerateIsSeededAndSized(t *testing.T) {
	a := Generate(7, 2000, 4)
	b := Generate(7, 2000, 4)
	require.Equal(t, a, b, "got different corpora for one seed, want the same")
	c := Generate(8, 2000, 4)
	require.NotEqual(t, a, c, "got the same corpus for two seeds, want different")
	pairs := 0
	for _, cs := range a {
		pairs += len(cs.Events)
		require.True(t, json.Valid([]byte(cs.Pattern)), "got invalid pattern JSON %s", cs.Pattern)
		for _, ev := range cs.Events {
			require.True(t, json.Valid([]byte(ev)), "got invalid event JSON %s", ev)
			require.Contains(t, ev, `"detail-type":"T"`, "got an event without envelope, want one: %s", ev)
		}
	}
	require.GreaterOrEqual(t, pairs, 2000, "got %d pairs, want at least 2000", pairs)
}

// TestGenerateCoversEveryOperator is the corpus's coverage promise: every operator and
// edge the package doc lists appears in a modest corpus.
func TestGenerateCoversEveryOperator(t *testing.T) {
	seen := map[string]bool{}
	text := strings.Builder{}
	for _, cs := range Generate(1, 20000, 4) {
		for _, f := range features(cs.Pattern) {
			seen[f] = true
		}
		text.WriteString(cs.Pattern)
		for _, e := range cs.Events {
			text.WriteString(e)
		}
	}
	for _, want := range []string{"exact string", "exact number", "exact null", "exact true", "exact false",
		"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "anything-but/list",
		"anything-but/prefix", "anything-but/suffix", "anything-but/equals-ignore-case", "anything-but/wildcard",
		"numeric", "cidr", "exists:true", "exists:false", "exactly", "$or", "empty key", "dotted key"} {
		t.Run(want, func(t *testing.T) {
			require.True(t, seen[want], "got no pattern using %q, want some", want)
		})
	}
	all := text.String()
	for _, want := range []string{"4.9e-324", "5e-324", "1.7976931348623157e308", "\u00df", "\U00010428", `"":`, `[{`} {
		require.Contains(t, all, want, "got a corpus without %q, want it", want)
	}
}

func TestJSONTreeRoundTrip(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"number text kept", `{"a":[3.0e2,-0,1E5]}`},
		{"duplicate keys kept", `{"x":["y"],"x":["z"]}`},
		{"unicode and escapes", `{"ü":["a\"b","line\nbreak","\\*"]}`},
		{"nested", `{"a":{"b":[{"numeric":[">",1,"<=",2]}]},"c":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := parse(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.in, n.String(), "got %s, want %s", n.String(), tc.in)
		})
	}
}

func TestShrinkMinimises(t *testing.T) {
	env := func(detail string) string { return `{"id":"1","detail-type":"T","detail":` + detail + `}` }
	for _, tc := range []struct {
		name               string
		pattern, event     string
		still              func(p, e string) bool
		wantPat, wantEvent string
	}{
		{
			name:    "keeps only the field that matters",
			pattern: `{"detail":{"a":["x","y"],"b":[{"prefix":"abc"}],"c":[1]}}`,
			event:   env(`{"a":"x","b":"abcd","c":1}`),
			still: func(p, e string) bool {
				return strings.Contains(p, `"prefix"`) && strings.Contains(e, `"b":`)
			},
			wantPat: `{"":{"":[{"prefix":""}]}}`, wantEvent: env(`{"b":""}`),
		},
		{
			name:    "keeps a number it needs",
			pattern: `{"detail":{"n":[{"numeric":["<",5e-324]}],"m":["q"]}}`,
			event:   env(`{"n":1,"m":"q"}`),
			still:   func(p, e string) bool { return strings.Contains(p, "5e-324") },
			wantPat: `{"":{"":[{"":[5e-324]}]}}`, wantEvent: env(`{}`),
		},
		{
			name:    "nothing to shrink when nothing else holds",
			pattern: `{"a":["x"]}`,
			event:   env(`{}`),
			still:   func(p, e string) bool { return p == `{"a":["x"]}` },
			wantPat: `{"a":["x"]}`, wantEvent: env(`{}`),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotP, gotE := shrink(tc.pattern, tc.event, tc.still, 10000)
			require.Equal(t, tc.wantPat, gotP, "pattern: got %s, want %s", gotP, tc.wantPat)
			require.Equal(t, tc.wantEvent, gotE, "event: got %s, want %s", gotE, tc.wantEvent)
			require.True(t, tc.still(gotP, gotE), "got a pair that no longer holds")
		})
	}
}

func TestShrinkStopsAtBudget(t *testing.T) {
	calls := 0
	still := func(p, e string) bool { calls++; return true }
	shrink(`{"a":["xxxxxxxx","yyyyyyyy"],"b":{"c":[1,2,3]}}`, `{"detail":{"a":"x"}}`, still, 5)
	require.LessOrEqual(t, calls, 5, "got %d calls, want at most the budget 5", calls)
}

func TestDisagreeAndDirection(t *testing.T) {
	inv, match, miss := verdict{}, verdict{Valid: true, Match: true}, verdict{Valid: true}
	for _, tc := range []struct {
		name       string
		ruler, dev verdict
		want       bool
	}{
		{"both invalid", inv, inv, false},
		{"validity differs", inv, match, true},
		{"match differs", match, miss, true},
		{"both match", match, match, false},
		{"event error on one side", verdict{Valid: true, Err: "x"}, miss, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := disagree(tc.ruler, tc.dev)
			require.Equal(t, tc.want, got, "got %v, want %v", got, tc.want)
		})
	}
	require.Equal(t, "event-ruler: invalid pattern / devstack: match", direction(inv, match))
}

func TestFeatures(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{`{"detail":{"a":["x",1,null]}}`, []string{"exact null", "exact number", "exact string"}},
		{`{"a":[{"anything-but":{"prefix":["x"]}},{"anything-but":[1]}]}`, []string{"anything-but/list", "anything-but/prefix"}},
		{`{"d":{"$or":[{"":[{"exists":false}]},{"a.b":[{"cidr":"10.0.0.0/8"}]}]}}`, []string{"$or", "cidr", "dotted key", "empty key", "exists:false"}},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			got := features(tc.pattern)
			require.Equal(t, tc.want, got, "got %v, want %v", got, tc.want)
		})
	}
}

func TestKnownDifferencesFile(t *testing.T) {
	data, err := os.ReadFile("known-differences.json")
	require.NoError(t, err)
	known, err := parseKnown(data)
	require.NoError(t, err, "got %v, want the shipped file to load", err)
	require.NotEmpty(t, known)

	d := &Disagreement{
		Pattern: `{"detail":{"a":[{"equals-ignore-case":"` + "\U00010428" + `"}]}}`,
		Event:   `{"detail":{"a":"` + "\U00010428" + `"}}`,
		Ruler:   verdict{Valid: true}, Devstack: verdict{Valid: true, Match: true},
	}
	k := findKnown(known, d)
	require.NotNil(t, k, "got no entry for a non-BMP case-folding difference, want one")
	require.Equal(t, "case-folding-outside-bmp", k.ID)

	d = &Disagreement{Pattern: `{"detail":{"a":["x"]}}`, Event: `{"detail":{"a":"x"}}`,
		Ruler: verdict{Valid: true}, Devstack: verdict{Valid: true, Match: true}}
	require.Nil(t, findKnown(known, d), "got a known entry for a plain exact-match difference, want none")

	_, err = parseKnown([]byte(`{"differences":[{"id":"x","reason":"","reference":"r"}]}`))
	require.Error(t, err, "got no error for an entry without reason, want one")
	_, err = parseKnown([]byte(`{"differences":[{"id":"x","reason":"r","reference":"r","pattern":"("}]}`))
	require.Error(t, err, "got no error for a bad regular expression, want one")
}
