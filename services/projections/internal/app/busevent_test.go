package app

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// scanAgrees checks scanBusEvent against encoding/json: where both read raw, they
// read the same source, detail-type, concert, version and detail.
func scanAgrees(t *testing.T, raw []byte) (scanned bool) {
	t.Helper()
	var k busEventKeys
	if scanBusEvent(raw, &k, true) != nil {
		return false
	}
	var want struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	var meta struct {
		Metadata struct {
			AggregateID      string `json:"aggregateId"`
			AggregateVersion int64  `json:"aggregateVersion"`
		} `json:"metadata"`
	}
	if json.Unmarshal(raw, &want) != nil || json.Unmarshal(want.Detail, &meta) != nil {
		return true // the scanner is lenient; the event is decoded strictly before use
	}
	id, err := k.aggregateIDString()
	require.NoError(t, err)
	require.Equal(t, meta.Metadata.AggregateID, id)
	require.Equal(t, meta.Metadata.AggregateVersion, k.version)
	require.JSONEq(t, string(want.Detail), string(k.detail))
	var quoted string
	require.NoError(t, json.Unmarshal([]byte(`"`+string(k.detailType)+`"`), &quoted))
	require.Equal(t, want.DetailType, quoted)
	var partial busEventKeys
	require.NoError(t, scanBusEvent(raw, &partial, false), "the early-stopping scan reads what the whole scan reads")
	require.Equal(t, k.version, partial.version)
	require.Equal(t, string(k.aggregateID), string(partial.aggregateID))
	return true
}

func TestScanBusEvent(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		wantOK bool
	}{
		{"eventbridge order", `{"version":"0","id":"x","detail-type":"TicketsSold","source":"concerts","account":"1","time":"2026-01-01T00:00:00Z","region":"r","resources":[],"detail":{"metadata":{"eventId":"e","aggregateId":"c1","aggregateVersion":7},"data":{"a":[1,{"b":"}"}]}}}`, true},
		{"detail first, metadata last, spaces", ` { "detail" : { "data" : { "x" : "\"aggregateId\":\"no\"" } , "metadata" : { "aggregateVersion" : 12 , "aggregateId" : "c\"2\\" } } , "source" : "concerts" , "detail-type" : "T" } `, true},
		{"escaped id", `{"source":"concerts","detail-type":"T","detail":{"metadata":{"aggregateId":"c\u00e9","aggregateVersion":1}}}`, true},
		{"fractional version", `{"source":"concerts","detail-type":"T","detail":{"metadata":{"aggregateId":"c","aggregateVersion":1.5}}}`, false},
		{"negative version", `{"source":"concerts","detail-type":"T","detail":{"metadata":{"aggregateId":"c","aggregateVersion":-1}}}`, false},
		{"no metadata", `{"source":"concerts","detail-type":"T","detail":{"data":{}}}`, false},
		{"no source", `{"detail-type":"T","detail":{"metadata":{"aggregateId":"c","aggregateVersion":1}}}`, false},
		{"truncated", `{"source":"concerts","detail-type":"T","detail":{"metadata":{"aggregateId":"c","aggregateVersion":1}`, false},
		{"unterminated string", `{"source":"concerts`, false},
		{"not an object", `[]`, false},
		{"empty", ``, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := scanAgrees(t, []byte(tc.raw))
			require.Equal(t, tc.wantOK, got, "got scanned %v, want %v", got, tc.wantOK)
		})
	}
}

func FuzzScanBusEvent(f *testing.F) {
	f.Add([]byte(`{"version":"0","id":"x","detail-type":"TicketsSold","source":"concerts","detail":{"metadata":{"aggregateId":"c1","aggregateVersion":7},"data":{"state":{"artist":"A\"B"}}}}`))
	f.Add([]byte(`{"detail":{"metadata":{"aggregateId":"c\\","aggregateVersion":0}},"source":"concerts","detail-type":"T"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		scanAgrees(t, raw) // never panics; agrees with encoding/json where both read
	})
}
