package bus

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"
)

// The bytes Put stores and hands to raw targets (the SQS body) must be exactly
// json.Marshal of the EventBridgeEvent, as EventBridge's SQS target sends it.
func TestEncodeEventMatchesJSONMarshal(t *testing.T) {
	at := time.Date(2026, 12, 6, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		ev   events.EventBridgeEvent
	}{
		{"plain", events.EventBridgeEvent{Version: "0", ID: newUUID(), DetailType: "TicketsSold", Source: "concerts", AccountID: "000000000000", Time: at, Region: "us-east-1", Resources: []string{}, Detail: json.RawMessage(`{"a":1}`)}},
		{"whitespace detail", events.EventBridgeEvent{Version: "0", ID: "i", DetailType: "d", Source: "s", Time: at, Resources: []string{"arn:x", "arn:y"}, Detail: json.RawMessage(" {\n \"a\" : [1, 2.50 ,3e10], \"b\": {\"c\": null} }\t")}},
		{"escapes", events.EventBridgeEvent{Version: "0", ID: "i", DetailType: "d<&>\u2028\"\\\n\x01é", Source: "s\u2029", Time: at, Resources: []string{"<r>", "\xff"}, Detail: json.RawMessage(`{"h":"<b>&amp;</b>","u":"é` + "\u2028\u2029" + `","e":"\"\\\u00e9\ud83d\ude00"}`)}},
		{"nil resources", events.EventBridgeEvent{Version: "0", ID: "i", Time: at, Detail: json.RawMessage(`{}`)}},
		{"nested detail key", events.EventBridgeEvent{Version: "0", ID: "i", Time: at, Resources: []string{`,"detail":`}, Detail: json.RawMessage(`{"detail":{"detail":1}}`)}},
		{"year 1", events.EventBridgeEvent{Version: "0", ID: "i", Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Resources: []string{}, Detail: json.RawMessage(`{}`)}},
		{"sub-second time", events.EventBridgeEvent{Version: "0", ID: "i", Time: at.Add(123 * time.Millisecond), Resources: []string{}, Detail: json.RawMessage(`{}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.ev)
			require.NoError(t, err)
			got, start, err := encodeEvent(&tt.ev)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), "got encodeEvent, want json.Marshal")
			var dec events.EventBridgeEvent
			require.NoError(t, json.Unmarshal(got, &dec))
			require.Equal(t, string(dec.Detail), string(got[start:len(got)-1]), "got detail offset wrong")
		})
	}
}

func TestEncodeEventRejectsMalformedDetail(t *testing.T) {
	for _, detail := range []string{`{"a":`, `[1,2]`, `"x"`, `{}{}`, ``, ` `, `nul`} {
		t.Run(detail, func(t *testing.T) {
			ev := events.EventBridgeEvent{Version: "0", ID: "i", Detail: json.RawMessage(detail)}
			_, _, err := encodeEvent(&ev)
			require.ErrorIs(t, err, errMalformedDetail)
		})
	}
}

func FuzzEncodeEvent(f *testing.F) {
	f.Add("concerts", "TicketsSold", `{"a":[1,"<&>"]}`, "arn:x")
	f.Add("s\u2028", "d\"", ` {"x" : "\u2029é"} `, "")
	f.Fuzz(func(t *testing.T, source, detailType, detail, resource string) {
		ev := events.EventBridgeEvent{Version: "0", ID: "id", Source: source, DetailType: detailType, Time: time.Unix(1700000000, 0).UTC(), Resources: []string{resource}, Detail: json.RawMessage(detail)}
		got, _, err := encodeEvent(&ev)
		if !isJSONObject([]byte(detail)) {
			require.Error(t, err)
			return
		}
		require.NoError(t, err)
		want, err := json.Marshal(ev)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	})
}
