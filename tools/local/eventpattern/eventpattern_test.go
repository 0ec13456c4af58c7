package eventpattern_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/eventpattern"
)

type matchCase struct {
	name    string
	pattern string
	event   string
	want    bool
}

// runMatchCases checks every case through both Match (raw JSON) and MatchValue
// (UseNumber-decoded), which must agree.
func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := eventpattern.Compile([]byte(tc.pattern))
			require.NoError(t, err, "compile %s", tc.pattern)
			got, err := p.Match([]byte(tc.event))
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "Match: got %v, want %v\npattern %s\nevent   %s", got, tc.want, tc.pattern, tc.event)
			gotValue := p.MatchValue(decodeEvent(t, []byte(tc.event)))
			require.Equal(t, tc.want, gotValue, "MatchValue: got %v, want %v\npattern %s\nevent   %s", gotValue, tc.want, tc.pattern, tc.event)
		})
	}
}

func TestExact(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"string", `{"source":["concerts"]}`, `{"source":"concerts"}`, true},
		{"string differs", `{"source":["concerts"]}`, `{"source":"Concerts"}`, false},
		{"array is OR", `{"source":["a","b","c"]}`, `{"source":"b"}`, true},
		{"missing field", `{"source":["a"]}`, `{"other":"a"}`, false},
		{"nested", `{"detail":{"data":{"artist":["Muse"]}}}`, `{"detail":{"data":{"artist":"Muse"}}}`, true},
		{"nested leaf is object", `{"a":["x"]}`, `{"a":{"b":"x"}}`, false},
		{"dotted key reaches nested", `{"a.b":["x"]}`, `{"a":{"b":"x"}}`, true},
		{"all fields required", `{"a":["1"],"b":["2"]}`, `{"a":"1","b":"3"}`, false},
		{"string vs number", `{"a":["5"]}`, `{"a":5}`, false},
		{"number vs string", `{"a":[5]}`, `{"a":"5"}`, false},
		{"number other form", `{"a":[300]}`, `{"a":3.0e+2}`, true},
		{"number trailing zeros", `{"a":[35.0]}`, `{"a":35.000}`, true},
		{"number differs", `{"a":[300]}`, `{"a":300.000001}`, false},
		{"big integer by text", `{"account":[123456789012345678901]}`, `{"account":123456789012345678901}`, true},
		{"big integer other text", `{"account":[123456789012345678901]}`, `{"account":123456789012345678900}`, false},
		{"true", `{"a":[true]}`, `{"a":true}`, true},
		{"true vs string", `{"a":[true]}`, `{"a":"true"}`, false},
		{"false", `{"a":[false]}`, `{"a":false}`, true},
		{"null", `{"a":[null]}`, `{"a":null}`, true},
		{"null vs missing", `{"a":[null]}`, `{"b":1}`, false},
		{"null vs empty string", `{"a":[null]}`, `{"a":""}`, false},
		{"empty string", `{"a":[""]}`, `{"a":""}`, true},
		{"exactly operator", `{"a":[{"exactly":"x"}]}`, `{"a":"x"}`, true},
		{"unicode escapes", `{"a":["xx💋y"]}`, `{"a":"x\u0078\ud83d\udc8by"}`, true},
		{"key with escape", `{"a b":["x"]}`, `{"a\u0020b":"x"}`, true},
		{"ip literal any spelling", `{"ip":["2400:6500:FF00::36FB:1F80"]}`, `{"ip":"2400:6500:ff00:0::36fb:1f80"}`, true},
	})
}

func TestEventArrays(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"any element", `{"a":["x"]}`, `{"a":["y","x"]}`, true},
		{"no element", `{"a":["x"]}`, `{"a":["y","z"]}`, false},
		{"nested arrays", `{"a":["x"]}`, `{"a":[["y"],["x"]]}`, true},
		{"empty array", `{"a":["x"]}`, `{"a":[]}`, false},
		{"objects in array", `{"a":{"b":["x"]}}`, `{"a":[{"b":"y"},{"b":"x"}]}`, true},
		{"same element", `{"a":{"b":["1"],"c":["2"]}}`, `{"a":[{"b":"1","c":"2"}]}`, true},
		{"different elements", `{"a":{"b":["1"],"c":["2"]}}`, `{"a":[{"b":"1","c":"9"},{"b":"9","c":"2"}]}`, false},
		{"second element", `{"a":{"b":["1"],"c":["2"]}}`, `{"a":[{"b":"1","c":"9"},{"b":"1","c":"2"}]}`, true},
		{"outer field with element", `{"x":["1"],"a":{"b":["2"]}}`, `{"x":"1","a":[{"b":"3"},{"b":"2"}]}`, true},
		{"deep consistency", `{"a":{"b":{"c":["1"],"d":["2"]}}}`, `{"a":[{"b":[{"c":"1"},{"d":"2"}]}]}`, false},
		{"deep consistency same", `{"a":{"b":{"c":["1"],"d":["2"]}}}`, `{"a":[{"b":[{"c":"1","d":"2"}]}]}`, true},
	})
}

func TestPrefixSuffix(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"prefix", `{"a":[{"prefix":"con"}]}`, `{"a":"concert"}`, true},
		{"prefix no", `{"a":[{"prefix":"con"}]}`, `{"a":"icon"}`, false},
		{"prefix whole", `{"a":[{"prefix":"con"}]}`, `{"a":"con"}`, true},
		{"prefix empty", `{"a":[{"prefix":""}]}`, `{"a":"anything"}`, true},
		{"prefix vs number", `{"a":[{"prefix":"1"}]}`, `{"a":123}`, false},
		{"prefix case", `{"a":[{"prefix":"Con"}]}`, `{"a":"concert"}`, false},
		{"prefix ignore case", `{"a":[{"prefix":{"equals-ignore-case":"CON"}}]}`, `{"a":"concert"}`, true},
		{"prefix ignore case no", `{"a":[{"prefix":{"equals-ignore-case":"CONX"}}]}`, `{"a":"concert"}`, false},
		{"prefix ignore case empty event", `{"a":[{"prefix":{"equals-ignore-case":"a"}}]}`, `{"a":""}`, false},
		{"suffix", `{"a":[{"suffix":".png"}]}`, `{"a":"cat.png"}`, true},
		{"suffix no", `{"a":[{"suffix":".png"}]}`, `{"a":"cat.PNG"}`, false},
		{"suffix vs number", `{"a":[{"suffix":"3"}]}`, `{"a":123}`, false},
		{"suffix ignore case", `{"a":[{"suffix":{"equals-ignore-case":".PNG"}}]}`, `{"a":"cat.png"}`, true},
		{"suffix ignore case no", `{"a":[{"suffix":{"equals-ignore-case":".PNG"}}]}`, `{"a":"cat.jpg"}`, false},
	})
}

func TestEqualsIgnoreCase(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"ascii", `{"a":[{"equals-ignore-case":"AlIcE"}]}`, `{"a":"alice"}`, true},
		{"ascii no", `{"a":[{"equals-ignore-case":"alice"}]}`, `{"a":"alicex"}`, false},
		{"empty", `{"a":[{"equals-ignore-case":""}]}`, `{"a":""}`, true},
		{"number", `{"a":[{"equals-ignore-case":"123"}]}`, `{"a":123}`, false},
		{"different byte lengths", `{"a":[{"equals-ignore-case":"abⱥcd"}]}`, `{"a":"ABȺCD"}`, true},
		{"sharp s upper is SS", `{"a":[{"equals-ignore-case":"straße"}]}`, `{"a":"STRASSE"}`, true},
		{"no full case folding", `{"a":[{"equals-ignore-case":"STRASSE"}]}`, `{"a":"straße"}`, false},
		{"turkish dotless i", `{"a":[{"equals-ignore-case":"I"}]}`, `{"a":"ı"}`, false},
		{"greek", `{"a":[{"equals-ignore-case":"ΣΟΦΙΑ"}]}`, `{"a":"σοφια"}`, true},
	})
}

func TestWildcard(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"suffix star", `{"a":[{"wildcard":"*.png"}]}`, `{"a":"dir/cat.png"}`, true},
		{"middle", `{"a":[{"wildcard":"*Title*"}]}`, `{"a":"The Title Song"}`, true},
		{"several stars", `{"a":[{"wildcard":"a*b*c"}]}`, `{"a":"aXbYbZc"}`, true},
		{"several stars no", `{"a":[{"wildcard":"a*b*c"}]}`, `{"a":"aXcYb"}`, false},
		{"star matches empty", `{"a":[{"wildcard":"ab*"}]}`, `{"a":"ab"}`, true},
		{"no star is exact", `{"a":[{"wildcard":"abc"}]}`, `{"a":"abcd"}`, false},
		{"escaped star", `{"a":[{"wildcard":"a\\*b"}]}`, `{"a":"a*b"}`, true},
		{"escaped star literal", `{"a":[{"wildcard":"a\\*b"}]}`, `{"a":"aXb"}`, false},
		{"escaped backslash", `{"a":[{"wildcard":"a\\\\*"}]}`, `{"a":"a\\bc"}`, true},
		{"star alone", `{"a":[{"wildcard":"*"}]}`, `{"a":""}`, true},
		{"star vs number", `{"a":[{"wildcard":"*"}]}`, `{"a":1}`, false},
		{"star vs null", `{"a":[{"wildcard":"*"}]}`, `{"a":null}`, false},
		{"empty vs empty", `{"a":[{"wildcard":""}]}`, `{"a":""}`, true},
		{"overlap", `{"a":[{"wildcard":"*ab*ab"}]}`, `{"a":"abab"}`, true},
	})
}

func TestAnythingBut(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"string", `{"a":[{"anything-but":"x"}]}`, `{"a":"y"}`, true},
		{"string excluded", `{"a":[{"anything-but":"x"}]}`, `{"a":"x"}`, false},
		{"list", `{"a":[{"anything-but":["x","y"]}]}`, `{"a":"y"}`, false},
		{"missing field", `{"a":[{"anything-but":"x"}]}`, `{"b":"y"}`, false},
		{"null passes", `{"a":[{"anything-but":"x"}]}`, `{"a":null}`, true},
		{"array some allowed", `{"a":[{"anything-but":"x"}]}`, `{"a":["x","y"]}`, true},
		{"array all excluded", `{"a":[{"anything-but":["x","y"]}]}`, `{"a":["x","y"]}`, false},
		{"number list numerically", `{"a":[{"anything-but":[2,3.5]}]}`, `{"a":2.0}`, false},
		{"number list other", `{"a":[{"anything-but":[2,3.5]}]}`, `{"a":4}`, true},
		{"number list vs string", `{"a":[{"anything-but":[123]}]}`, `{"a":"123"}`, true},
		{"string vs number", `{"a":[{"anything-but":"123"}]}`, `{"a":123}`, true},
		{"prefix", `{"a":[{"anything-but":{"prefix":"init"}}]}`, `{"a":"running"}`, true},
		{"prefix excluded", `{"a":[{"anything-but":{"prefix":"init"}}]}`, `{"a":"initializing"}`, false},
		{"prefix list", `{"a":[{"anything-but":{"prefix":["init","error"]}}]}`, `{"a":"errored"}`, false},
		{"prefix vs number", `{"a":[{"anything-but":{"prefix":"1"}}]}`, `{"a":123}`, true},
		{"suffix", `{"a":[{"anything-but":{"suffix":".tmp"}}]}`, `{"a":"a.txt"}`, true},
		{"suffix excluded", `{"a":[{"anything-but":{"suffix":".tmp"}}]}`, `{"a":"a.tmp"}`, false},
		{"ignore case", `{"a":[{"anything-but":{"equals-ignore-case":["X","Y"]}}]}`, `{"a":"y"}`, false},
		{"ignore case other", `{"a":[{"anything-but":{"equals-ignore-case":"X"}}]}`, `{"a":"z"}`, true},
		{"wildcard", `{"a":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"a":"/usr/lib/x"}`, false},
		{"wildcard other", `{"a":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"a":"/usr/bin/x"}`, true},
	})
}

func TestNumeric(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"gt", `{"a":[{"numeric":[">",0]}]}`, `{"a":1}`, true},
		{"gt boundary", `{"a":[{"numeric":[">",0]}]}`, `{"a":0}`, false},
		{"ge boundary", `{"a":[{"numeric":[">=",0]}]}`, `{"a":0}`, true},
		{"lt", `{"a":[{"numeric":["<",10]}]}`, `{"a":9.999999}`, true},
		{"lt boundary", `{"a":[{"numeric":["<",10]}]}`, `{"a":1e1}`, false},
		{"le boundary", `{"a":[{"numeric":["<=",10]}]}`, `{"a":10.0}`, true},
		{"eq", `{"a":[{"numeric":["=",301.8]}]}`, `{"a":3.018e2}`, true},
		{"eq negative zero", `{"a":[{"numeric":["=",0]}]}`, `{"a":-0}`, true},
		{"range", `{"a":[{"numeric":[">",0,"<=",5]}]}`, `{"a":5}`, true},
		{"range out", `{"a":[{"numeric":[">",0,"<=",5]}]}`, `{"a":5.5}`, false},
		{"range open top", `{"a":[{"numeric":[">=",0,"<",5]}]}`, `{"a":5}`, false},
		{"big values", `{"a":[{"numeric":[">",5e9]}]}`, `{"a":6e9}`, true},
		{"string number", `{"a":[{"numeric":[">",0]}]}`, `{"a":"5"}`, false},
		{"bool", `{"a":[{"numeric":[">",0]}]}`, `{"a":true}`, false},
		{"array any", `{"a":[{"numeric":["<",10]}]}`, `{"a":[100,5]}`, true},
		{"imprecise event value", `{"a":[{"numeric":[">",0]}]}`, `{"a":0.30000000000000001}`, false},
	})
}

func TestExists(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"true present", `{"a":[{"exists":true}]}`, `{"a":"x"}`, true},
		{"true null", `{"a":[{"exists":true}]}`, `{"a":null}`, true},
		{"true missing", `{"a":[{"exists":true}]}`, `{"b":"x"}`, false},
		{"true object is not a leaf", `{"a":[{"exists":true}]}`, `{"a":{"b":1}}`, false},
		{"true empty array", `{"a":[{"exists":true}]}`, `{"a":[]}`, false},
		{"false missing", `{"a":[{"exists":false}]}`, `{"b":"x"}`, true},
		{"false present", `{"a":[{"exists":false}]}`, `{"a":"x"}`, false},
		{"false null", `{"a":[{"exists":false}]}`, `{"a":null}`, false},
		{"false object", `{"a":[{"exists":false}]}`, `{"a":{"b":1}}`, true},
		{"false or value", `{"a":[{"exists":false},"x"]}`, `{"a":"x"}`, true},
		{"false in other element", `{"a":{"b":["1"],"c":[{"exists":false}]}}`, `{"a":[{"b":"1"},{"c":"2"}]}`, true},
		{"false in same element", `{"a":{"b":["1"],"c":[{"exists":false}]}}`, `{"a":[{"b":"1","c":"2"}]}`, false},
	})
}

func TestCIDR(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"v4 in", `{"ip":[{"cidr":"10.0.0.0/24"}]}`, `{"ip":"10.0.0.255"}`, true},
		{"v4 out", `{"ip":[{"cidr":"10.0.0.0/24"}]}`, `{"ip":"10.0.1.0"}`, false},
		{"v4 host bits ignored", `{"ip":[{"cidr":"54.240.196.171/24"}]}`, `{"ip":"54.240.196.0"}`, true},
		{"v4 /0", `{"ip":[{"cidr":"0.0.0.0/0"}]}`, `{"ip":"255.1.2.3"}`, true},
		{"v6 in", `{"ip":[{"cidr":"2400:6500:ff00::/48"}]}`, `{"ip":"2400:6500:FF00::1"}`, true},
		{"v6 out", `{"ip":[{"cidr":"2600:1F14::/35"}]}`, `{"ip":"2600:1F14:2000::"}`, false},
		{"v4 vs v6", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"::a00:1"}`, false},
		{"not an ip", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"hello"}`, false},
		{"number", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":10}`, false},
	})
}

func TestOr(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"first branch", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, `{"a":"1"}`, true},
		{"second branch", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, `{"b":"2"}`, true},
		{"no branch", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, `{"a":"2","b":"1"}`, false},
		{"with common field", `{"s":["x"],"$or":[{"a":["1"]},{"b":["2"]}]}`, `{"s":"y","a":"1"}`, false},
		{"nested in object", `{"d":{"$or":[{"a":[{"numeric":[">",5]}]},{"b":["2"]}]}}`, `{"d":{"a":6}}`, true},
		{"branch with exists false", `{"$or":[{"a":[{"exists":false}]},{"b":["x"]}]}`, `{"c":1}`, true},
		{"array consistency per branch", `{"x":{"$or":[{"a":["1"]},{"b":["2"]}],"c":["3"]}}`, `{"x":[{"a":"1"},{"c":"3"}]}`, false},
	})
}

func TestDuplicateKeysLastWins(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"last list used", `{"x":["y"],"x":["z"]}`, `{"x":"z"}`, true},
		{"first list ignored", `{"x":["y"],"x":["z"]}`, `{"x":"y"}`, false},
	})
}

func TestCompileRejects(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		reason  string
	}{
		{"not json", `{"a":`, "malformed JSON"},
		{"trailing data", `{"a":["x"]} {}`, "unexpected data"},
		{"top-level array", `["a"]`, "must be a JSON object"},
		{"empty pattern", `{}`, "empty objects"},
		{"bare value", `{"a":"x"}`, "must be an object or an array"},
		{"empty list", `{"a":[]}`, "empty arrays"},
		{"nested array value", `{"a":[["x"]]}`, "not an array"},
		{"unknown operator", `{"a":[{"regex":"x"}]}`, `unrecognized match type "regex"`},
		{"two operators", `{"a":[{"prefix":"x","suffix":"y"}]}`, "only one key"},
		{"prefix number", `{"a":[{"prefix":1}]}`, "prefix: must be a string"},
		{"numeric missing number", `{"a":[{"numeric":[">"]}]}`, `numeric: expected number after ">"`},
		{"numeric string operand", `{"a":[{"numeric":[">","1"]}]}`, `numeric: expected number after ">"`},
		{"numeric inverted range", `{"a":[{"numeric":[">",5,"<",1]}]}`, "must be less than"},
		{"numeric bad second operator", `{"a":[{"numeric":[">",5,">",10]}]}`, `expected "<" or "<="`},
		{"numeric out of range", `{"a":[{"numeric":["<",1e309]}]}`, "cannot be compared"},
		{"exists string", `{"a":[{"exists":"yes"}]}`, "exists: must be true or false"},
		{"wildcard double star", `{"a":[{"wildcard":"a**b"}]}`, "consecutive wildcard characters at pos 2"},
		{"wildcard bad escape", `{"a":[{"wildcard":"he\\llo"}]}`, "invalid escape character at pos 2"},
		{"anything-but mixed", `{"a":[{"anything-but":["x",1]}]}`, "mixed"},
		{"anything-but empty prefix", `{"a":[{"anything-but":{"prefix":""}}]}`, "empty prefix"},
		{"anything-but unknown", `{"a":[{"anything-but":{"exists":true}}]}`, "unsupported anything-but operator"},
		{"cidr bad mask", `{"a":[{"cidr":"10.0.0.0/33"}]}`, "mask bits"},
		{"cidr not ip", `{"a":[{"cidr":"host/8"}]}`, "invalid IP address"},
		{"or one branch", `{"$or":[{"a":["x"]}]}`, "at least 2"},
		{"or non-object", `{"$or":[{"a":["x"]},["b"]]}`, "only objects"},
		{"reserved name in or", `{"$or":[{"prefix":["x"]},{"b":["y"]}]}`, "reserved name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := eventpattern.Compile([]byte(tc.pattern))
			require.Error(t, err, "got pattern %v, want error", p)
			require.Contains(t, err.Error(), tc.reason, "got %q, want a message containing %q", err, tc.reason)
		})
	}
}

func TestMatchRejectsNonObjectEvent(t *testing.T) {
	p, err := eventpattern.Compile([]byte(`{"a":["x"]}`))
	require.NoError(t, err)
	for _, event := range []string{``, `[]`, `"a"`, `1`, `null`, `{"a":`, `{"a":"x"} x`} {
		t.Run(event, func(t *testing.T) {
			got, err := p.Match([]byte(event))
			require.ErrorIs(t, err, eventpattern.ErrNotObject, "event %q", event)
			require.False(t, got)
		})
	}
}

func TestMatchValueGoTypes(t *testing.T) {
	p, err := eventpattern.Compile([]byte(`{"n":[{"numeric":[">",1]}],"s":["x"],"b":[true],"z":[null]}`))
	require.NoError(t, err)
	require.True(t, p.MatchValue(map[string]any{"n": 2.5, "s": "x", "b": true, "z": nil}))
	require.True(t, p.MatchValue(map[string]any{"n": 2, "s": "x", "b": true, "z": nil}))
	require.True(t, p.MatchValue(map[string]any{"n": json.Number("1e1"), "s": []any{"y", "x"}, "b": true, "z": nil}))
	require.False(t, p.MatchValue(map[string]any{"n": 1, "s": "x", "b": true, "z": nil}))
	require.False(t, p.MatchValue(nil))
}

func TestLargeEventSkipsUnusedFields(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"noise":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"k":"v","n":[1,2,{"deep":"x"}]}`)
	}
	b.WriteString(`],"source":"concerts"}`)
	p, err := eventpattern.Compile([]byte(`{"source":["concerts"]}`))
	require.NoError(t, err)
	got, err := p.Match([]byte(b.String()))
	require.NoError(t, err)
	require.True(t, got)
}

// TestAdversarialEventsStayTractable builds events where a naive backtracking search
// tries every combination of array elements (50^10 here) before failing.
func TestAdversarialEventsStayTractable(t *testing.T) {
	const keys, elems = 10, 50
	var pattern, scalars, objects strings.Builder
	pattern.WriteString(`{`)
	scalars.WriteString(`{`)
	objects.WriteString(`{`)
	for k := 0; k < keys; k++ {
		fmt.Fprintf(&pattern, `"k%02d":{"v":[1]},`, k)
		fmt.Fprintf(&scalars, `"k%02d":{"v":[`, k)
		fmt.Fprintf(&objects, `"k%02d":[`, k)
		for e := 0; e < elems; e++ {
			if e > 0 {
				scalars.WriteByte(',')
				objects.WriteByte(',')
			}
			scalars.WriteString(`1`)
			objects.WriteString(`{"v":1}`)
		}
		scalars.WriteString(`]},`)
		objects.WriteString(`],`)
	}
	pattern.WriteString(`"z":["wanted"]}`)
	scalars.WriteString(`"z":"other"}`)
	objects.WriteString(`"z":"other"}`)

	p, err := eventpattern.Compile([]byte(pattern.String()))
	require.NoError(t, err)
	for name, event := range map[string]string{"scalar arrays": scalars.String(), "object arrays": objects.String()} {
		t.Run(name, func(t *testing.T) {
			got, err := p.Match([]byte(event))
			require.NoError(t, err)
			require.False(t, got, "got match, want none: z differs")
			fixed := strings.Replace(event, `"z":"other"`, `"z":"wanted"`, 1)
			got, err = p.Match([]byte(fixed))
			require.NoError(t, err)
			require.True(t, got, "got no match, want one")
		})
	}
}
