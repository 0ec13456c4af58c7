package dynamolog

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/concertsys/platform/dynamotable"
	"github.com/concertsys/platform/eventlog"
)

var _ eventlog.SnapshotStore = (*Snapshots)(nil)

// Snapshots is the snapshot store in a DynamoDB table of its own: one item per
// aggregate (partition key AggregateId, no sort key) holding AggregateVersion,
// StateVersion and State (S, JSON). It is a separate table, not items in the log's
// table, because the Pipe reads the log table's stream: a snapshot item there would be
// an INSERT the Pipe forwards. Loading a concert costs one GetItem here plus a Query
// of the events after the snapshot.
type Snapshots struct {
	client *dynamodb.Client
	table  string
}

// NewSnapshots is the snapshot store in table, which must have the key schema
// CreateSnapshotTable creates.
func NewSnapshots(client *dynamodb.Client, table string) *Snapshots {
	return &Snapshots{client: client, table: table}
}

// Save puts the snapshot unless a later one is stored (a conditional put).
func (s *Snapshots) Save(ctx context.Context, snap eventlog.Snapshot) error {
	if err := eventlog.ValidateSnapshot(snap); err != nil {
		return err
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			eventlog.AttrAggregateID:  dynamotable.S(snap.AggregateID),
			eventlog.AttrVersion:      dynamotable.N(snap.Version),
			eventlog.AttrStateVersion: dynamotable.N(int64(snap.StateVersion)),
			eventlog.AttrState:        dynamotable.S(string(snap.State)),
		},
		ConditionExpression:      aws.String("attribute_not_exists(#id) OR #v <= :v"),
		ExpressionAttributeNames: map[string]string{"#id": eventlog.AttrAggregateID, "#v": eventlog.AttrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v": dynamotable.N(snap.Version),
		},
	})
	if dynamotable.ConditionFailed(err) {
		return nil // a later snapshot is stored already
	}
	if err != nil {
		return fmt.Errorf("save snapshot of %s at %d: %w", snap.AggregateID, snap.Version, err)
	}
	return nil
}

// Latest reads the aggregate's snapshot with one strongly consistent GetItem.
func (s *Snapshots) Latest(ctx context.Context, aggregateID string) (eventlog.Snapshot, error) {
	if aggregateID == "" {
		return eventlog.Snapshot{}, eventlog.ErrNoSnapshot
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		ConsistentRead: aws.Bool(true),
		Key:            map[string]types.AttributeValue{eventlog.AttrAggregateID: dynamotable.S(aggregateID)},
	})
	if err != nil {
		return eventlog.Snapshot{}, fmt.Errorf("load snapshot of %s: %w", aggregateID, err)
	}
	if len(out.Item) == 0 {
		return eventlog.Snapshot{}, eventlog.ErrNoSnapshot
	}
	d := dynamotable.NewDecoder(out.Item)
	snap := eventlog.Snapshot{
		AggregateID:  d.S(eventlog.AttrAggregateID),
		Version:      d.Int(eventlog.AttrVersion),
		StateVersion: int(d.Int(eventlog.AttrStateVersion)),
		State:        []byte(d.S(eventlog.AttrState)),
	}
	if err := d.Err(); err != nil {
		return eventlog.Snapshot{}, fmt.Errorf("snapshot of %s: %w", aggregateID, err)
	}
	return snap, nil
}

// CreateSnapshotTable creates the snapshot table (on demand, no stream) and waits
// until it is active.
func CreateSnapshotTable(ctx context.Context, client *dynamodb.Client, name string) error {
	return dynamotable.Create(ctx, client, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(eventlog.AttrAggregateID), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(eventlog.AttrAggregateID), KeyType: types.KeyTypeHash},
		},
	})
}
