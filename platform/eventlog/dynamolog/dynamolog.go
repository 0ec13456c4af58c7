// Package dynamolog is the DynamoDB adapter of the event log: one item per event,
// AggregateId (partition key) and AggregateVersion (sort key), written only with
// conditional puts so that a version is taken once and never overwritten.
//
// One event is a PutItem conditional on the key not existing; several are one
// TransactWriteItems of such puts, so a batch is all or nothing. Like every caller
// of the port, writers derive the next version from Load: DynamoDB checks only that
// the version is free, so a caller that skipped versions would leave a gap (boltlog
// additionally rejects gaps).
package dynamolog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/concertsys/platform/dynamotable"
	"github.com/concertsys/platform/eventlog"
)

var (
	_ eventlog.Log     = (*Log)(nil)
	_ eventlog.Scanner = (*Log)(nil)
)

// Log is the event log in one DynamoDB table.
type Log struct {
	client *dynamodb.Client
	table  string
}

// New is the log in table, which must have the key schema CreateTable creates.
func New(client *dynamodb.Client, table string) *Log {
	return &Log{client: client, table: table}
}

// condition makes a put fail when the item's key (AggregateId + AggregateVersion)
// already exists: attribute_not_exists on the partition key is evaluated against the
// item with the same full primary key.
var condition = aws.String("attribute_not_exists(" + eventlog.AttrAggregateID + ")")

// Append writes events of one aggregate atomically; nil means DynamoDB accepted them.
func (l *Log) Append(ctx context.Context, events []eventlog.Event) error {
	if err := eventlog.ValidateBatch(events); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	first := events[0]
	if len(events) == 1 {
		_, err := l.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                           aws.String(l.table),
			Item:                                eventlog.Item(first),
			ConditionExpression:                 condition,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if existing, failed := dynamotable.FailedItem(err); failed {
			if existing == nil && first.EventID != "" {
				// Servers that ignore ReturnValuesOnConditionCheckFailure: read it.
				existing = l.get(ctx, first.AggregateID, first.Version)
			}
			if ours(existing, first) {
				return nil
			}
			return &eventlog.ConflictError{AggregateID: first.AggregateID, Version: first.Version}
		}
		if err != nil {
			return fmt.Errorf("append %s version %d: %w", first.AggregateID, first.Version, err)
		}
		return nil
	}
	items := make([]types.TransactWriteItem, len(events))
	for i, e := range events {
		items[i] = types.TransactWriteItem{Put: &types.Put{
			TableName:           aws.String(l.table),
			Item:                eventlog.Item(e),
			ConditionExpression: condition,
		}}
	}
	_, err := l.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	if conflict := transactionConflict(err, events); conflict != nil {
		return conflict
	}
	return fmt.Errorf("append %s versions %d..%d: %w", first.AggregateID, first.Version, events[len(events)-1].Version, err)
}

// ours reports whether the item that failed the condition is e itself: the SDK
// retries a PutItem whose response was lost, and the retry then finds the first
// attempt's item. Event ids are unique, so the same id, type and data means the
// append had succeeded. (TransactWriteItems needs no such check: the SDK sends one
// idempotency token across its retries.)
func ours(item map[string]types.AttributeValue, e eventlog.Event) bool {
	if e.EventID == "" || item == nil {
		return false
	}
	stored, err := eventlog.FromItem(item)
	return err == nil && stored.EventID == e.EventID && stored.EventType == e.EventType &&
		string(stored.Data) == string(e.Data)
}

// get reads one item with a consistent read; nil when it cannot.
func (l *Log) get(ctx context.Context, id string, version int64) map[string]types.AttributeValue {
	out, err := l.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.table),
		ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			eventlog.AttrAggregateID: dynamotable.S(id),
			eventlog.AttrVersion:     dynamotable.N(version),
		},
	})
	if err != nil {
		return nil
	}
	return out.Item
}

// transactionConflict maps a cancelled transaction to the version that was taken.
// A TransactionConflict reason (another transaction writing the same key right now)
// is a conflict too: the caller reloads and retries, as after a failed condition.
func transactionConflict(err error, events []eventlog.Event) *eventlog.ConflictError {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	for i, r := range tce.CancellationReasons {
		code := aws.ToString(r.Code)
		if (code == "ConditionalCheckFailed" || code == "TransactionConflict") && i < len(events) {
			return &eventlog.ConflictError{AggregateID: events[i].AggregateID, Version: events[i].Version}
		}
	}
	// Servers that omit the reasons still name them in the message.
	if msg := tce.ErrorMessage(); strings.Contains(msg, "ConditionalCheckFailed") || strings.Contains(msg, "TransactionConflict") {
		return &eventlog.ConflictError{AggregateID: events[0].AggregateID, Version: events[0].Version}
	}
	return nil
}

// Load returns every event of the aggregate in version order, or ErrNotFound.
func (l *Log) Load(ctx context.Context, aggregateID string) ([]eventlog.Event, error) {
	events, err := l.LoadAfter(ctx, aggregateID, 0)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("load %s: %w", aggregateID, eventlog.ErrNotFound)
	}
	return events, nil
}

// LoadAfter returns the events with Version > after, in order (possibly none), with
// a strongly consistent read so that a write acknowledged before is always seen.
func (l *Log) LoadAfter(ctx context.Context, aggregateID string, after int64) ([]eventlog.Event, error) {
	if aggregateID == "" {
		return nil, nil // DynamoDB rejects an empty key value; no aggregate has it.
	}
	p := dynamodb.NewQueryPaginator(l.client, l.queryAfter(aggregateID, after))
	var events []eventlog.Event
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("load %s after %d: %w", aggregateID, after, err)
		}
		for _, item := range page.Items {
			e, err := eventlog.FromItem(item)
			if err != nil {
				return nil, fmt.Errorf("load %s: %w", aggregateID, err)
			}
			events = append(events, e)
		}
	}
	// DynamoDB returns items in sort-key order already; sorting again is cheap and
	// keeps the contract on local servers that order numeric sort keys as text
	// (minidyn v0.8.2 returns 1, 10, 11, 2, …).
	slices.SortFunc(events, func(a, b eventlog.Event) int { return cmp.Compare(a.Version, b.Version) })
	return events, nil
}

// LoadPage reads one page with a single strongly consistent Query: KeyCondition
// version > after and Limit limit+1 (the extra item only tells whether more follow),
// so its read capacity follows the page size. DynamoDB stops a Query at 1 MB, so a
// page of large events may come back short with a LastEvaluatedKey: then the rest
// is read with ExclusiveStartKey, still bounded by limit+1 items.
func (l *Log) LoadPage(ctx context.Context, aggregateID string, after int64, limit int) ([]eventlog.Event, bool, error) {
	if err := eventlog.CheckPageLimit(limit); err != nil {
		return nil, false, err
	}
	if aggregateID == "" {
		return nil, false, nil // DynamoDB rejects an empty key value; no aggregate has it.
	}
	in := l.queryAfter(aggregateID, after)
	var events []eventlog.Event
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(events)))
		out, err := l.client.Query(ctx, in)
		if err != nil {
			return nil, false, fmt.Errorf("load %s after %d: %w", aggregateID, after, err)
		}
		for _, item := range out.Items {
			e, err := eventlog.FromItem(item)
			if err != nil {
				return nil, false, fmt.Errorf("load %s: %w", aggregateID, err)
			}
			events = append(events, e)
		}
		if len(out.LastEvaluatedKey) == 0 || len(events) > limit {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	slices.SortFunc(events, func(a, b eventlog.Event) int { return cmp.Compare(a.Version, b.Version) })
	if len(events) > limit {
		return events[:limit], true, nil
	}
	return events, false, nil
}

// queryAfter is the strongly consistent Query of an aggregate's events with Version >
// after.
func (l *Log) queryAfter(aggregateID string, after int64) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:              aws.String(l.table),
		ConsistentRead:         aws.Bool(true),
		KeyConditionExpression: aws.String("#id = :id AND #v > :after"),
		ExpressionAttributeNames: map[string]string{
			"#id": eventlog.AttrAggregateID,
			"#v":  eventlog.AttrVersion,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id":    dynamotable.S(aggregateID),
			":after": dynamotable.N(after),
		},
	}
}

// ForEach calls fn for every event in the table with a paginated, consistent Scan.
// DynamoDB returns each aggregate's items in version order, aggregates in no
// particular order. (minidyn v0.8.2 orders numeric sort keys as text, so there an
// aggregate's versions 10+ come before 2.)
func (l *Log) ForEach(ctx context.Context, fn func(eventlog.Event) error) error {
	p := dynamodb.NewScanPaginator(l.client, &dynamodb.ScanInput{
		TableName:      aws.String(l.table),
		ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan %s: %w", l.table, err)
		}
		for _, item := range page.Items {
			e, err := eventlog.FromItem(item)
			if err != nil {
				return fmt.Errorf("scan %s: %w", l.table, err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateTable creates the event log table (on demand, with a NEW_IMAGE stream where
// the server supports streams) and waits until it is active.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	input := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(eventlog.AttrAggregateID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(eventlog.AttrVersion), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(eventlog.AttrAggregateID), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(eventlog.AttrVersion), KeyType: types.KeyTypeRange},
		},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	}
	err := dynamotable.Create(ctx, client, input)
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "stream") {
		// Local servers without streams may refuse the specification; the table is
		// still a valid event log without it.
		input.StreamSpecification = nil
		err = dynamotable.Create(ctx, client, input)
	}
	return err
}
