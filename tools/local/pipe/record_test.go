package pipe_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/tools/local/pipe"
)

// TestStreamRecordImageMatchesDynamoItem checks that the NewImage the pipe hands to the
// enrichment is exactly the item the DynamoDB adapter writes (the event log's record
// codec), so an enricher tested locally decodes the same records on AWS.
func TestStreamRecordImageMatchesDynamoItem(t *testing.T) {
	created := time.Date(2026, 5, 1, 18, 0, 0, 123_000_000, time.UTC)
	tests := []struct {
		name  string
		event eventlog.Event
	}{
		{"all attributes", eventlog.Event{
			AggregateID: "c1", Version: 3, EventID: "e3", EventType: "TicketsSold", SchemaVersion: 1,
			OccurredAt: created, CorrelationID: "corr", CausationID: "cause", Data: json.RawMessage(`{"quantity":2}`),
		}},
		{"optional strings empty", eventlog.Event{
			AggregateID: "c2", Version: 1, EventType: "ConcertScheduled", SchemaVersion: 1,
			OccurredAt: created, Data: json.RawMessage(`{}`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arn := pipe.StreamARN("eu-west-1", "123456789012", "events")
			rec := pipe.StreamRecord("eu-west-1", arn, eventlog.FeedEntry{Position: 42, Event: tt.event})

			// The record format itself is tested in platform/eventlog (codec_test.go).
			require.Equal(t, eventlog.StreamImage(tt.event), rec.Change.NewImage, "NewImage: got … want the DynamoDB item")
			require.Equal(t, eventlog.StreamKeys(tt.event), rec.Change.Keys)
			require.Equal(t, "INSERT", rec.EventName)
			require.Equal(t, "1.1", rec.EventVersion)
			require.Equal(t, "aws:dynamodb", rec.EventSource)
			require.Equal(t, "eu-west-1", rec.AWSRegion)
			require.Equal(t, arn, rec.EventSourceArn)
			require.Equal(t, "NEW_IMAGE", rec.Change.StreamViewType)
			require.Equal(t, pipe.SequenceNumber(42), rec.Change.SequenceNumber)
			require.Positive(t, rec.Change.SizeBytes)
			require.NotEmpty(t, rec.EventID)

			// The record survives the JSON round trip the Lambda invoke path makes.
			b, err := json.Marshal(rec)
			require.NoError(t, err)
			var back events.DynamoDBEventRecord
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, rec.Change.NewImage, back.Change.NewImage)
			require.Equal(t, created.Unix(), back.Change.ApproximateCreationDateTime.Unix())
		})
	}
}

func TestStreamRecordIDIsStablePerItem(t *testing.T) {
	arn := pipe.StreamARN("us-east-1", "000000000000", "events")
	e := eventlog.Event{AggregateID: "c1", Version: 1, EventType: "X", Data: json.RawMessage(`{}`), OccurredAt: time.Now()}
	a := pipe.StreamRecord("us-east-1", arn, eventlog.FeedEntry{Position: 1, Event: e})
	b := pipe.StreamRecord("us-east-1", arn, eventlog.FeedEntry{Position: 1, Event: e})
	e.Version = 2
	c := pipe.StreamRecord("us-east-1", arn, eventlog.FeedEntry{Position: 2, Event: e})
	require.Equal(t, a.EventID, b.EventID, "same item read twice: got different eventIDs")
	require.NotEqual(t, a.EventID, c.EventID, "different items: got the same eventID")
}

func TestSequenceNumbersSortInCommitOrder(t *testing.T) {
	positions := []uint64{1, 9, 10, 99, 100, 123456789}
	for i := 1; i < len(positions); i++ {
		a, b := pipe.SequenceNumber(positions[i-1]), pipe.SequenceNumber(positions[i])
		require.Less(t, a, b, "got %s not before %s", a, b)
	}
}
