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
			want := map[string]events.DynamoDBAttributeValue{}
			for n, av := range eventlog.Item(e) {
				switch v := av.(type) {
				case *types.AttributeValueMemberS:
					want[n] = events.NewStringAttribute(v.Value)
				case *types.AttributeValueMemberN:
					want[n] = events.NewNumberAttribute(v.Value)
				default:
					t.Fatalf("attribute %s: unexpected type %T", n, av)
				}
			}
			require.Equal(t, want, img)
			require.Equal(t, map[string]events.DynamoDBAttributeValue{
				eventlog.AttrAggregateID: want[eventlog.AttrAggregateID],
				eventlog.AttrVersion:     want[eventlog.AttrVersion],
			}, eventlog.StreamKeys(e))

			b, err := json.Marshal(img)
			require.NoError(t, err)
			var back map[string]events.DynamoDBAttributeValue
			require.NoError(t, json.Unmarshal(b, &back))
			got, err := eventlog.FromStreamImage(back)
			require.NoError(t, err)
			require.Equal(t, e, got)
		})
	}
}

// TestDecodeRefusesMalformedRecords: both decoders fail with ErrBadRecord, never
// panic, on records the adapter could not have written.
func TestDecodeRefusesMalformedRecords(t *testing.T) {
	e := codecEvents()["full"]
	set := func(name string, v types.AttributeValue) map[string]types.AttributeValue {
		item := eventlog.Item(e)
		if v == nil {
			delete(item, name)
		} else {
			item[name] = v
		}
		return item
	}
	cases := map[string]map[string]types.AttributeValue{
		"missing Data":                 set(eventlog.AttrData, nil),
		"missing AggregateId":          set(eventlog.AttrAggregateID, nil),
		"missing Created":              set(eventlog.AttrCreated, nil),
		"AggregateId is a number":      set(eventlog.AttrAggregateID, &types.AttributeValueMemberN{Value: "5"}),
		"AggregateVersion is a string": set(eventlog.AttrVersion, &types.AttributeValueMemberS{Value: "2"}),
		"AggregateVersion zero":        set(eventlog.AttrVersion, &types.AttributeValueMemberN{Value: "0"}),
		"AggregateVersion fraction":    set(eventlog.AttrVersion, &types.AttributeValueMemberN{Value: "2.5"}),
		"Created not a number":         set(eventlog.AttrCreated, &types.AttributeValueMemberN{Value: "yesterday"}),
		"SchemaVersion is a list":      set(eventlog.AttrSchemaVersion, &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "1"}}}),
		"Data not JSON":                set(eventlog.AttrData, &types.AttributeValueMemberS{Value: `{"quantity":`}),
		"Data is a map":                set(eventlog.AttrData, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"q": &types.AttributeValueMemberN{Value: "4"}}}),
		"EventType is null":            set(eventlog.AttrEventType, &types.AttributeValueMemberNULL{Value: true}),
		"CausationId is binary":        set(eventlog.AttrCausationID, &types.AttributeValueMemberB{Value: []byte("x")}),
		"EventId is a bool":            set(eventlog.AttrEventID, &types.AttributeValueMemberBOOL{Value: true}),
		"EventId is a string set":      set(eventlog.AttrEventID, &types.AttributeValueMemberSS{Value: []string{"a"}}),
		"Created is a number set":      set(eventlog.AttrCreated, &types.AttributeValueMemberNS{Value: []string{"1"}}),
		"Data is a binary set":         set(eventlog.AttrData, &types.AttributeValueMemberBS{Value: [][]byte{[]byte("x")}}),
	}
	for name, item := range cases {
		t.Run(name, func(t *testing.T) {
			_, itemErr := eventlog.FromItem(item)
			require.ErrorIs(t, itemErr, eventlog.ErrBadRecord)

			img := streamOf(t, item)
			var err error
			require.NotPanics(t, func() { _, err = eventlog.FromStreamImage(img) })
			require.ErrorIs(t, err, eventlog.ErrBadRecord)
		})
	}
	_, err := eventlog.FromStreamImage(nil)
	require.ErrorIs(t, err, eventlog.ErrBadRecord)
	_, err = eventlog.FromStreamImage(map[string]events.DynamoDBAttributeValue{eventlog.AttrData: {}})
	require.ErrorIs(t, err, eventlog.ErrBadRecord, "a zero attribute value (no type) is refused, not read")
}

// streamOf is item as a stream image, through the JSON form DynamoDB Streams uses
// (independent of the codec's own conversion).
func streamOf(t *testing.T, item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	t.Helper()
	raw := map[string]any{}
	for n, av := range item {
		raw[n] = jsonAV(av)
	}
	b, err := json.Marshal(raw)
	require.NoError(t, err)
	var img map[string]events.DynamoDBAttributeValue
	require.NoError(t, json.Unmarshal(b, &img))
	return img
}

func jsonAV(av types.AttributeValue) any {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": v.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}
	case *types.AttributeValueMemberBS:
		return map[string]any{"BS": v.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, x := range v.Value {
			l[i] = jsonAV(x)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		m := map[string]any{}
		for n, x := range v.Value {
			m[n] = jsonAV(x)
		}
		return map[string]any{"M": m}
	}
	return nil
}
