package pipe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/eventlog"
)

// StreamRecord converts one feed entry into the DynamoDB stream record a Pipe hands
// to its enrichment for the INSERT of that event's item: its keys and image are the
// event log's record codec (eventlog.StreamKeys, eventlog.StreamImage), the item the
// DynamoDB event log adapter writes.
func StreamRecord(region, sourceARN string, entry eventlog.FeedEntry) events.DynamoDBEventRecord {
	e := entry.Event
	version := strconv.FormatInt(e.Version, 10)
	keySize := len(eventlog.AttrAggregateID) + len(e.AggregateID) + len(eventlog.AttrVersion) + eventlog.NumberSize(version)
	return events.DynamoDBEventRecord{
		AWSRegion: region,
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: e.OccurredAt},
			Keys:                        eventlog.StreamKeys(e),
			NewImage:                    eventlog.StreamImage(e),
			SequenceNumber:              SequenceNumber(entry.Position),
			SizeBytes:                   int64(keySize + eventlog.ItemSize(e)),
			StreamViewType:              "NEW_IMAGE",
		},
		EventID:        recordID(sourceARN, e),
		EventName:      string(events.DynamoDBOperationTypeInsert),
		EventSource:    "aws:dynamodb",
		EventVersion:   "1.1",
		EventSourceArn: sourceARN,
	}
}

// SequenceNumber renders a feed position like a DynamoDB stream sequence number: a
// decimal string that sorts in commit order.
func SequenceNumber(position uint64) string {
	return fmt.Sprintf("%021d", position)
}

// recordID is stable for an item, so a record redelivered after a crash carries the
// same eventID, as a stream record read again does.
func recordID(sourceARN string, e eventlog.Event) string {
	sum := sha256.Sum256([]byte(sourceARN + "\x00" + e.AggregateID + "\x00" + strconv.FormatInt(e.Version, 10)))
	return hex.EncodeToString(sum[:16])
}

// StreamARN is the ARN of a table's stream, the Pipe's source.
func StreamARN(region, account, table string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s/stream/2026-01-01T00:00:00.000", region, account, table)
}
