package eventlog_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
)

func codecEvents() map[string]eventlog.Event {
	full := eventlog.Event{
		AggregateID: "c-1", Version: 7, EventID: "e-7", EventType: "ConcertCancelled", SchemaVersion: 1,
		OccurredAt: time.Date(2026, 5, 1, 18, 0, 0, 123_000_000, time.UTC), CorrelationID: "corr", CausationID: "cause",
		Data: json.RawMessage(`{"reason":"flood ☔"}`),
	}
	bare := full
	bare.EventID, bare.CorrelationID, bare.CausationID = "", "", ""
	return map[string]eventlog.Event{"full": full, "no optional ids": bare}
}

// TestItemRoundTrip: FromItem reads back exactly what Item writes, and Item leaves
// out empty optional strings as DynamoDB requires.
func TestItemRoundTrip(t *testing.T) {
	for name, e := range codecEvents() {
		t.Run(name, func(t *testing.T) {
			item := eventlog.Item(e)
			if e.EventID == "" {
				require.NotContains(t, item, eventlog.AttrEventID)
				require.NotContains(t, item, eventlog.AttrCorrelationID)
				require.NotContains(t, item, eventlog.AttrCausationID)
			}
			got, err := eventlog.FromItem(item)
			require.NoError(t, err)
			require.Equal(t, e, got)
			require.Equal(t, map[string]types.AttributeValue{
				eventlog.AttrAggregateID: item[eventlog.AttrAggregateID],
				eventlog.AttrVersion:     item[eventlog.AttrVersion],
			}, eventlog.Key(e))
		})
	}
}

// TestStreamImageRoundTrip: the stream image is the item in aws-lambda-go's values,
// survives the JSON of a Lambda invocation, and decodes back to the event.
func TestStreamImageRoundTrip(t *testing.T) {
	for name, e := range codecEvents() {
		t.Run(name, func(t *testing.T) {
			img := eventlog.StreamImage(e)
			// The record as DynamoDB Streams writes it (JSON), stated independently.
			want := `{"AggregateId":{"S":"c-1"},"AggregateVersion":{"N":"7"},"Created":{"N":"1777658400.123"},` +
				`"EventType":{"S":"ConcertCancelled"},"Data":{"S":"{\"reason\":\"flood ☔\"}"},"SchemaVersion":{"N":"1"}`
			if e.EventID != "" {
				want += `,"EventId":{"S":"e-7"},"CorrelationId":{"S":"corr"},"CausationId":{"S":"cause"}`
			}
			got, err := json.Marshal(img)
			require.NoError(t, err)
			require.JSONEq(t, want+"}", string(got))
			keys, err := json.Marshal(eventlog.StreamKeys(e))
			require.NoError(t, err)
			require.JSONEq(t, `{"AggregateId":{"S":"c-1"},"AggregateVersion":{"N":"7"}}`, string(keys))

			var back map[string]events.DynamoDBAttributeValue
			require.NoError(t, json.Unmarshal(got, &back))
			decoded, err := eventlog.FromStreamImage(back)
			require.NoError(t, err)
			require.Equal(t, e, decoded)
		})
	}
}

// TestDecodeRefusesMalformedRecords: both decoders fail with ErrBadRecord, never
// panic, on records the adapter could not have written. Each case replaces (or, with
// no value, removes) one attribute, given as an SDK value and as stream JSON.
func TestDecodeRefusesMalformedRecords(t *testing.T) {
	e := codecEvents()["full"]
	cases := []struct {
		name, attr string
		item       types.AttributeValue
		stream     string
	}{
		{"missing Data", eventlog.AttrData, nil, ""},
		{"missing AggregateId", eventlog.AttrAggregateID, nil, ""},
		{"missing Created", eventlog.AttrCreated, nil, ""},
		{"AggregateId is a number", eventlog.AttrAggregateID, &types.AttributeValueMemberN{Value: "5"}, `{"N":"5"}`},
		{"AggregateVersion is a string", eventlog.AttrVersion, &types.AttributeValueMemberS{Value: "2"}, `{"S":"2"}`},
		{"AggregateVersion zero", eventlog.AttrVersion, &types.AttributeValueMemberN{Value: "0"}, `{"N":"0"}`},
		{"AggregateVersion fraction", eventlog.AttrVersion, &types.AttributeValueMemberN{Value: "2.5"}, `{"N":"2.5"}`},
		{"Created not a number", eventlog.AttrCreated, &types.AttributeValueMemberN{Value: "yesterday"}, `{"N":"yesterday"}`},
		{"SchemaVersion is a list", eventlog.AttrSchemaVersion, &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "1"}}}, `{"L":[{"N":"1"}]}`},
		{"Data not JSON", eventlog.AttrData, &types.AttributeValueMemberS{Value: `{"quantity":`}, `{"S":"{\"quantity\":"}`},
		{"Data is a map", eventlog.AttrData, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"q": &types.AttributeValueMemberN{Value: "4"}}}, `{"M":{"q":{"N":"4"}}}`},
		{"EventType is null", eventlog.AttrEventType, &types.AttributeValueMemberNULL{Value: true}, `{"NULL":true}`},
		{"CausationId is binary", eventlog.AttrCausationID, &types.AttributeValueMemberB{Value: []byte("x")}, `{"B":"eA=="}`},
		{"EventId is a bool", eventlog.AttrEventID, &types.AttributeValueMemberBOOL{Value: true}, `{"BOOL":true}`},
		{"EventId is a string set", eventlog.AttrEventID, &types.AttributeValueMemberSS{Value: []string{"a"}}, `{"SS":["a"]}`},
		{"Created is a number set", eventlog.AttrCreated, &types.AttributeValueMemberNS{Value: []string{"1"}}, `{"NS":["1"]}`},
		{"Data is a binary set", eventlog.AttrData, &types.AttributeValueMemberBS{Value: [][]byte{[]byte("x")}}, `{"BS":["eA=="]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			item, img := eventlog.Item(e), eventlog.StreamImage(e)
			delete(item, tc.attr)
			delete(img, tc.attr)
			if tc.item != nil {
				item[tc.attr] = tc.item
				var v events.DynamoDBAttributeValue
				require.NoError(t, json.Unmarshal([]byte(tc.stream), &v))
				img[tc.attr] = v
			}
			_, err := eventlog.FromItem(item)
			require.ErrorIs(t, err, eventlog.ErrBadRecord)
			require.NotPanics(t, func() { _, err = eventlog.FromStreamImage(img) })
			require.ErrorIs(t, err, eventlog.ErrBadRecord)
		})
	}
	_, err := eventlog.FromStreamImage(nil)
	require.ErrorIs(t, err, eventlog.ErrBadRecord)
	require.NotPanics(t, func() {
		_, err = eventlog.FromStreamImage(map[string]events.DynamoDBAttributeValue{eventlog.AttrData: {}})
	})
	require.ErrorIs(t, err, eventlog.ErrBadRecord, "a zero attribute value (no value) is refused, not read")
}
