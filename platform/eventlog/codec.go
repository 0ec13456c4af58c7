package eventlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/concertsys/platform/dynamotable"
)

// The codec of the event-log record: the one place that knows how an Event is laid
// out as a DynamoDB item (attribute names Attr*, S and N types, empty optional strings
// left out). The DynamoDB adapter writes and reads items with it, the Pipe emulator
// builds stream images with it and the stream enricher decodes them with it. The
// stream forms convert between the SDK's and aws-lambda-go's attribute values, so the
// fields are encoded and decoded in one place only.

// ErrBadRecord reports an item or stream image that is not an event record.
var ErrBadRecord = errors.New("malformed event item")

// Item is the DynamoDB item of e. Empty optional strings are left out.
func Item(e Event) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		AttrAggregateID:   &types.AttributeValueMemberS{Value: e.AggregateID},
		AttrVersion:       &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Version, 10)},
		AttrCreated:       &types.AttributeValueMemberN{Value: EpochSeconds(e.OccurredAt)},
		AttrEventType:     &types.AttributeValueMemberS{Value: e.EventType},
		AttrData:          &types.AttributeValueMemberS{Value: string(e.Data)},
		AttrSchemaVersion: &types.AttributeValueMemberN{Value: strconv.Itoa(e.SchemaVersion)},
	}
	for name, v := range map[string]string{
		AttrEventID:       e.EventID,
		AttrCorrelationID: e.CorrelationID,
		AttrCausationID:   e.CausationID,
		AttrTraceParent:   e.TraceParent,
	} {
		if v != "" {
			item[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	return item
}

// Key is the primary key of e's item (AggregateId, AggregateVersion).
func Key(e Event) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrAggregateID: &types.AttributeValueMemberS{Value: e.AggregateID},
		AttrVersion:     &types.AttributeValueMemberN{Value: strconv.FormatInt(e.Version, 10)},
	}
}

// FromItem decodes an event record. OccurredAt comes back in UTC, to the millisecond.
// It never panics: a missing required attribute, an attribute of the wrong type, an
// unparsable number, a version below 1 or Data that is not JSON (none of which
// ValidateBatch lets an adapter write) fails with an error wrapping ErrBadRecord that
// names them all.
func FromItem(item map[string]types.AttributeValue) (Event, error) {
	var e Event
	d := dynamotable.NewDecoder(item)
	e.AggregateID = d.S(AttrAggregateID)
	e.EventType = d.S(AttrEventType)
	e.Data = json.RawMessage(d.S(AttrData))
	e.EventID = d.OptionalS(AttrEventID)
	e.CorrelationID = d.OptionalS(AttrCorrelationID)
	e.CausationID = d.OptionalS(AttrCausationID)
	e.TraceParent = d.OptionalS(AttrTraceParent)
	if e.Version = d.Int(AttrVersion); e.Version < 1 {
		d.Fail(fmt.Errorf("%s %d, want >= 1", AttrVersion, e.Version))
	}
	e.SchemaVersion = int(d.Int(AttrSchemaVersion))
	var err error
	if e.OccurredAt, err = ParseEpochSeconds(d.N(AttrCreated)); err != nil {
		d.Fail(err)
	}
	if d.Err() == nil && !json.Valid(e.Data) {
		d.Fail(fmt.Errorf("%s is not JSON", AttrData))
	}
	if err := d.Err(); err != nil {
		return Event{}, fmt.Errorf("%s version %d: %w: %w", e.AggregateID, e.Version, ErrBadRecord, err)
	}
	return e, nil
}

// StreamImage is the DynamoDB stream image (NewImage) of e's item: Item(e) in
// aws-lambda-go's attribute values.
func StreamImage(e Event) map[string]events.DynamoDBAttributeValue {
	return toStream(Item(e))
}

// StreamKeys is the Keys of the stream record of e's item: Key(e) in aws-lambda-go's
// attribute values.
func StreamKeys(e Event) map[string]events.DynamoDBAttributeValue {
	return toStream(Key(e))
}

// FromStreamImage decodes a DynamoDB stream image of an event record with FromItem. It
// checks every attribute's type before reading it (aws-lambda-go's accessors panic on a
// mismatch), so it never panics either.
func FromStreamImage(img map[string]events.DynamoDBAttributeValue) (Event, error) {
	return FromItem(fromStream(img))
}

// toStream converts the attributes of an item Item or Key built: strings and numbers.
func toStream(item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	out := make(map[string]events.DynamoDBAttributeValue, len(item))
	for name, av := range item {
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			out[name] = events.NewStringAttribute(v.Value)
		case *types.AttributeValueMemberN:
			out[name] = events.NewNumberAttribute(v.Value)
		default:
			panic(fmt.Sprintf("eventlog: record attribute %s is %T", name, av)) // Item writes only S and N
		}
	}
	return out
}

// otherTypes stands for the stream values a record never holds, by type: FromItem
// only needs their type to report them, so their value is never read.
var otherTypes = map[events.DynamoDBDataType]types.AttributeValue{
	events.DataTypeBinary:    &types.AttributeValueMemberB{},
	events.DataTypeBoolean:   &types.AttributeValueMemberBOOL{},
	events.DataTypeBinarySet: &types.AttributeValueMemberBS{},
	events.DataTypeList:      &types.AttributeValueMemberL{},
	events.DataTypeMap:       &types.AttributeValueMemberM{},
	events.DataTypeNumberSet: &types.AttributeValueMemberNS{},
	events.DataTypeStringSet: &types.AttributeValueMemberSS{},
}

// fromStream converts a stream image to SDK attribute values for FromItem. It calls an
// accessor only after checking the value's DataType (aws-lambda-go's accessors panic on
// a mismatch, and on the zero value, which claims to be Binary), and reads only the
// strings and numbers a record consists of.
func fromStream(img map[string]events.DynamoDBAttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(img))
	for name, v := range img {
		switch t := v.DataType(); t {
		case events.DataTypeString:
			out[name] = &types.AttributeValueMemberS{Value: v.String()}
		case events.DataTypeNumber:
			out[name] = &types.AttributeValueMemberN{Value: v.Number()}
		default:
			av, ok := otherTypes[t]
			if !ok {
				av = &types.AttributeValueMemberNULL{Value: true}
			}
			out[name] = av
		}
	}
	return out
}
