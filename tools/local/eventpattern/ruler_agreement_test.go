package eventpattern_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/eventpattern"
)

// The five classes of issue 16, where devstack answered differently from aws/event-ruler
// 2.0.1 (JsonRuleCompiler + Machine.rulesForJSONEvent on JDK 25). Every expectation here
// is event-ruler's answer, checked with tools/eventruler.

type validityCase struct {
	name    string
	pattern string
	valid   bool
}

func runValidityCases(t *testing.T, cases []validityCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := eventpattern.Compile([]byte(tc.pattern))
			if tc.valid {
				require.NoError(t, err, "got error %v, want a valid pattern: %s", err, tc.pattern)
				require.NotNil(t, p)
				return
			}
			require.Error(t, err, "got a compiled pattern %v, want invalid: %s", p, tc.pattern)
			require.Nil(t, p)
		})
	}
}

// envelope wraps detail in a normal EventBridge envelope, as TestEventPattern gets it.
func envelope(detail string) string {
	return `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"T","source":"s",` +
		`"account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":` + detail + `}`
}

func TestRulerSingleAddressCIDR(t *testing.T) {
	runValidityCases(t, []validityCase{
		{"ipv4 /32 refused", `{"detail":{"ip":[{"cidr":"10.0.0.1/32"}]}}`, false},
		{"ipv6 /128 refused", `{"detail":{"ip":[{"cidr":"2001:db8::1/128"}]}}`, false},
		{"ipv6 upper case /128 refused", `{"detail":{"ip":[{"cidr":"2001:DB8::1/128"}]}}`, false},
		{"ipv4 /33 refused", `{"detail":{"ip":[{"cidr":"10.0.0.1/33"}]}}`, false},
		{"ipv4 /31 accepted", `{"detail":{"ip":[{"cidr":"10.0.0.1/31"}]}}`, true},
		{"ipv6 /127 accepted", `{"detail":{"ip":[{"cidr":"2001:db8::1/127"}]}}`, true},
		{"ipv4 /0 accepted", `{"detail":{"ip":[{"cidr":"10.0.0.1/0"}]}}`, true},
	})
	runMatchCases(t, []matchCase{
		{"/31 holds both addresses", `{"detail":{"ip":[{"cidr":"10.0.0.0/31"}]}}`, envelope(`{"ip":"10.0.0.1"}`), true},
		{"/31 excludes the next", `{"detail":{"ip":[{"cidr":"10.0.0.0/31"}]}}`, envelope(`{"ip":"10.0.0.2"}`), false},
		{"/127 holds both addresses", `{"detail":{"ip":[{"cidr":"2001:db8::/127"}]}}`, envelope(`{"ip":"2001:db8::1"}`), true},
		{"/127 excludes the next", `{"detail":{"ip":[{"cidr":"2001:db8::/127"}]}}`, envelope(`{"ip":"2001:db8::2"}`), false},
		{"plain address still matches itself", `{"detail":{"ip":["10.0.0.1"]}}`, envelope(`{"ip":"10.0.0.1"}`), true},
	})
}

func TestRulerSubnormalNumbers(t *testing.T) {
	runValidityCases(t, []validityCase{
		// Java writes the smallest subnormal as 4.9E-324: 5e-324 does not round-trip.
		{"numeric bound 5e-324 refused", `{"detail":{"n":[{"numeric":["<",5e-324]}]}}`, false},
		{"numeric bound 1e-323 refused", `{"detail":{"n":[{"numeric":[">",1e-323]}]}}`, false},
		{"numeric bound 4.9e-324 accepted", `{"detail":{"n":[{"numeric":["<",4.9e-324]}]}}`, true},
		{"numeric bound 9.9e-324 accepted", `{"detail":{"n":[{"numeric":[">",9.9e-324]}]}}`, true},
		{"anything-but 4.9e-324 accepted", `{"detail":{"n":[{"anything-but":[4.9e-324]}]}}`, true},
		{"anything-but 5e-324 refused", `{"detail":{"n":[{"anything-but":[5e-324]}]}}`, false},
		{"normal number still accepted", `{"detail":{"n":[{"numeric":["<",1e-300]}]}}`, true},
	})
	runMatchCases(t, []matchCase{
		{"5e-324 is not comparable", `{"detail":{"n":[{"numeric":[">",0]}]}}`, envelope(`{"n":5e-324}`), false},
		{"4.9e-324 is comparable", `{"detail":{"n":[{"numeric":[">",0]}]}}`, envelope(`{"n":4.9e-324}`), true},
		{"1e-323 is not comparable", `{"detail":{"n":[{"numeric":[">",0]}]}}`, envelope(`{"n":1e-323}`), false},
		{"9.9e-324 is comparable", `{"detail":{"n":[{"numeric":[">",0]}]}}`, envelope(`{"n":9.9e-324}`), true},
		{"49e-325 equals 4.9e-324", `{"detail":{"n":[49e-325]}}`, envelope(`{"n":4.9e-324}`), true},
		{"49e-325 is not the text 5e-324", `{"detail":{"n":[49e-325]}}`, envelope(`{"n":5e-324}`), false},
		{"5e-324 still matches its own text", `{"detail":{"n":[5e-324]}}`, envelope(`{"n":5e-324}`), true},
		{"anything-but 4.9e-324 excludes it", `{"detail":{"n":[{"anything-but":[4.9e-324]}]}}`, envelope(`{"n":4.9e-324}`), false},
		{"anything-but passes uncomparable 5e-324", `{"detail":{"n":[{"anything-but":[4.9e-324]}]}}`, envelope(`{"n":5e-324}`), true},
	})
}

func TestRulerEmptyLastPathSegment(t *testing.T) {
	runValidityCases(t, []validityCase{
		{"empty key is a valid field", `{"detail":{"":["x"]}}`, true},
		{"dotted form is valid", `{"detail.":["x"]}`, true},
		{"empty key with exists false is valid", `{"detail":{"":[{"exists":false}]}}`, true},
	})
	runMatchCases(t, []matchCase{
		// event-ruler splits "detail." into the single step "detail", so it never walks
		// into an event key "" under detail.
		{"empty last key never matches", `{"detail":{"":["x"]}}`, envelope(`{"":"x"}`), false},
		{"dotted form never matches nested", `{"detail.":["x"]}`, envelope(`{"":"x"}`), false},
		{"dotted form matches a dotted key", `{"detail.":["x"]}`, `{"detail.":"x"}`, true},
		{"exists false holds though present", `{"detail":{"":[{"exists":false}]}}`, envelope(`{"":"x"}`), true},
		{"exists true never holds", `{"detail":{"":[{"exists":true}]}}`, envelope(`{"":"x"}`), false},
		{"interior empty step is walked", `{"a":{"":{"b":["x"]}}}`, `{"a":{"":{"b":"x"}}}`, true},
		{"top-level empty key is walked", `{"":["x"]}`, `{"":"x"}`, true},
		{"empty key used by another path", `{"":["y"],"detail":{"":["x"]}}`, `{"":"y","detail":{"":"x"}}`, true},
		{"double empty last step", `{"x":{"":{"":["v"]}}}`, `{"x":{"":{"":"v"}}}`, false},
	})
}

func TestRulerOrValueMustBeArray(t *testing.T) {
	runValidityCases(t, []validityCase{
		{"object value", `{"detail":{"$or":{"a":["x"]}}}`, false},
		{"top-level object value", `{"$or":{"a":["1"]}}`, false},
		{"string value", `{"detail":{"$or":"x"}}`, false},
		{"number value", `{"$or":1}`, false},
		{"null value", `{"$or":null}`, false},
		{"one-element array", `{"$or":[{"a":["1"]}]}`, false},
		{"two objects", `{"$or":[{"a":["1"]},{"b":["2"]}]}`, true},
	})
	runMatchCases(t, []matchCase{
		{"array $or still an operator", `{"detail":{"$or":[{"a":["x"]},{"b":["y"]}]}}`, envelope(`{"b":"y"}`), true},
		{"array $or neither branch", `{"detail":{"$or":[{"a":["x"]},{"b":["y"]}]}}`, envelope(`{"a":"y"}`), false},
		{"array $or never a field name", `{"detail":{"$or":[{"a":["x"]},{"b":["y"]}]}}`, envelope(`{"$or":{"a":"x"}}`), false},
	})
}

func TestRulerEmptyAnythingButLists(t *testing.T) {
	runValidityCases(t, []validityCase{
		{"prefix", `{"detail":{"a":[{"anything-but":{"prefix":[]}}]}}`, false},
		{"suffix", `{"detail":{"a":[{"anything-but":{"suffix":[]}}]}}`, false},
		{"equals-ignore-case", `{"detail":{"a":[{"anything-but":{"equals-ignore-case":[]}}]}}`, false},
		{"wildcard", `{"detail":{"a":[{"anything-but":{"wildcard":[]}}]}}`, false},
		{"plain", `{"detail":{"a":[{"anything-but":[]}]}}`, false},
		{"first of several", `{"detail":{"a":[{"anything-but":{"prefix":[]}},"x"]}}`, false},
		{"in an $or branch", `{"$or":[{"a":[{"anything-but":{"prefix":[]}}]},{"b":["x"]}]}`, false},
		// After another value event-ruler has a state to attach it to: accepted, inert.
		{"after a value", `{"detail":{"a":["x",{"anything-but":{"wildcard":[]}}]}}`, true},
		{"after exists false", `{"detail":{"a":[{"exists":false},{"anything-but":{"prefix":[]}}]}}`, true},
		{"non-empty list", `{"detail":{"a":[{"anything-but":{"prefix":["x"]}}]}}`, true},
	})
	runMatchCases(t, []matchCase{
		{"inert after a value: value matches", `{"detail":{"a":["x",{"anything-but":{"wildcard":[]}}]}}`, envelope(`{"a":"x"}`), true},
		{"inert after a value: other misses", `{"detail":{"a":["x",{"anything-but":{"wildcard":[]}}]}}`, envelope(`{"a":"y"}`), false},
		{"inert after exists false: absent", `{"detail":{"a":[{"exists":false},{"anything-but":{"prefix":[]}}]}}`, envelope(`{}`), true},
		{"inert after exists false: present", `{"detail":{"a":[{"exists":false},{"anything-but":{"prefix":[]}}]}}`, envelope(`{"a":"y"}`), false},
		{"inert twice after prefix", `{"detail":{"a":[{"prefix":"q"},{"anything-but":{"suffix":[]}},{"anything-but":{"suffix":[]}}]}}`, envelope(`{"a":"qq"}`), true},
	})
}

// Found by make conformance-ruler after the five classes were fixed.

func TestRulerEmptyAnythingButReplacedByDuplicateKey(t *testing.T) {
	runValidityCases(t, []validityCase{
		// The Machine never sees a list a later duplicate key replaced.
		{"replaced list not refused", `{"detail":{"a":[{"anything-but":{"equals-ignore-case":[]}}],"a":[""]}}`, true},
		{"replacing list refused", `{"detail":{"a":[""],"a":[{"anything-but":{"suffix":[]}}]}}`, false},
	})
	runMatchCases(t, []matchCase{
		{"later list used", `{"detail":{"a":[{"anything-but":{"prefix":[]}}],"a":["x"]}}`, envelope(`{"a":"x"}`), true},
	})
}

func TestRulerNumericBoundAtEndOfRange(t *testing.T) {
	const maxF = "1.7976931348623157e308"
	runValidityCases(t, []validityCase{
		{"below the smallest", `{"a":[{"numeric":["<",-` + maxF + `]}]}`, false},
		{"at most the smallest", `{"a":[{"numeric":["<=",-` + maxF + `]}]}`, false},
		{"above the largest", `{"a":[{"numeric":[">",` + maxF + `]}]}`, false},
		{"at least the largest", `{"a":[{"numeric":[">=",` + maxF + `]}]}`, false},
		{"equals the largest", `{"a":[{"numeric":["=",` + maxF + `]}]}`, true},
		{"above the smallest", `{"a":[{"numeric":[">",-` + maxF + `]}]}`, true},
		{"below the largest", `{"a":[{"numeric":["<",` + maxF + `]}]}`, true},
		{"after another value", `{"a":["x",{"numeric":["<",-` + maxF + `]}]}`, false},
		{"replaced by a duplicate key", `{"a":[{"numeric":["<",-` + maxF + `]}],"a":[{"exactly":""}]}`, true},
	})
	runMatchCases(t, []matchCase{
		{"above the smallest holds 0", `{"a":[{"numeric":[">",-` + maxF + `]}]}`, `{"a":0}`, true},
		{"below the largest excludes it", `{"a":[{"numeric":["<",` + maxF + `]}]}`, `{"a":` + maxF + `}`, false},
	})
}

func TestRulerIPRangeOtherFamily(t *testing.T) {
	runMatchCases(t, []matchCase{
		// event-ruler compares hex-digit strings: a longer (IPv6) address matches by its
		// first 8 digits, a shorter (IPv4) one only once strictly inside the bounds.
		{"v4 /0 holds ::", `{"a":[{"cidr":"0.0.0.0/0"}]}`, `{"a":"::"}`, true},
		{"v4 /8 holds a00:1::", `{"a":[{"cidr":"10.0.0.0/8"}]}`, `{"a":"a00:1::"}`, true},
		{"v4 /8 excludes b00::", `{"a":[{"cidr":"10.0.0.0/8"}]}`, `{"a":"b00::"}`, false},
		{"v6 /1 holds 0.0.0.2", `{"a":[{"cidr":"::/1"}]}`, `{"a":"0.0.0.2"}`, true},
		{"v6 /1 holds 127.0.0.1", `{"a":[{"cidr":"::/1"}]}`, `{"a":"127.0.0.1"}`, true},
		{"v6 /1 excludes 128.0.0.1", `{"a":[{"cidr":"::/1"}]}`, `{"a":"128.0.0.1"}`, false},
		{"v6 /32 excludes its v4 digits", `{"a":[{"cidr":"2001:db8::/32"}]}`, `{"a":"32.1.13.184"}`, false},
		{"v4 literal holds v6 with its digits", `{"a":["10.0.0.1"]}`, `{"a":"a00:1::"}`, true},
		{"v6 literal excludes v4", `{"a":["2001:db8::1"]}`, `{"a":"32.1.13.184"}`, false},
	})
}
