// Package dynamostore is the sales store in one DynamoDB table. Items, each of a
// bounded size: an aggregate's totals (Id, Key "#totals") and one per hour (Id, Key
// "hour#<RFC 3339 hour>"), the applied-event markers in a partition of their own
// (Id "<aggregate>#applied", Key the version) so a query of hours never reads them,
// and the catch-up record (Id and Key "#catch-up"). Record is one TransactWriteItems:
// the marker put on condition that it does not exist, and ADD to the hour and totals.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/concertsys/services/sales/internal/app"
	"github.com/concertsys/services/sales/internal/domain"
)

// Attribute names and fixed keys of the table.
const (
	AttrID     = "Id"
	AttrKey    = "Key"
	keyTotals  = "#totals"
	keyCatchUp = "#catch-up"
	hourPrefix = "hour#"
)

// Store is app.Store on DynamoDB.
type Store struct {
	client *dynamodb.Client
	table  string
}

var _ app.Store = (*Store)(nil)

// New is the store in table.
func New(client *dynamodb.Client, table string) *Store { return &Store{client: client, table: table} }

// CreateTable creates the table (tests, tooling; the CDK stack makes it on AWS).
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrID), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrKey), KeyType: types.KeyTypeRange},
		},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrKey), AttributeType: types.ScalarAttributeTypeS},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	return nil
}

func key(id, k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrID: &types.AttributeValueMemberS{Value: id}, AttrKey: &types.AttributeValueMemberS{Value: k}}
}

func hourKey(h time.Time) string { return hourPrefix + h.UTC().Format(time.RFC3339) }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Record adds e once (see the package comment).
func (s *Store) Record(ctx context.Context, e domain.Entry) (bool, error) {
	marker := key(e.AggregateID+"#applied", fmt.Sprintf("%020d", e.Version))
	marker["EventId"] = &types.AttributeValueMemberS{Value: e.EventID}
	add := func(k string, extra map[string]types.AttributeValue) types.TransactWriteItem {
		values := map[string]types.AttributeValue{":a": num(e.Amount), ":e": num(e.Events)}
		expr := "ADD Amount :a, Events :e"
		for name, v := range extra {
			values[":"+name] = v
			expr += " SET " + name + " = :" + name
		}
		return types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: key(e.AggregateID, k),
			UpdateExpression: aws.String(expr), ExpressionAttributeValues: values,
		}}
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: marker, ConditionExpression: aws.String("attribute_not_exists(" + AttrID + ")")}},
		add(keyTotals, nil),
	}
	if e.Amount != 0 || e.Events != 0 {
		items = append(items, add(hourKey(e.Hour), map[string]types.AttributeValue{"HourStart": &types.AttributeValueMemberS{Value: e.Hour.UTC().Format(time.RFC3339)}}))
	}
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) && len(canceled.CancellationReasons) > 0 && aws.ToString(canceled.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return false, nil // recorded before: a duplicate or a replayed event
	}
	if err != nil {
		return false, fmt.Errorf("transact write: %w", err)
	}
	return true, nil
}

// str and integer read one attribute of item, refusing a missing or mistyped one.
func str(item map[string]types.AttributeValue, name string) (string, error) {
	v, ok := item[name].(*types.AttributeValueMemberS)
	if !ok {
		return "", fmt.Errorf("attribute %s: missing or not a string", name)
	}
	return v.Value, nil
}

func integer(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s: missing or not a number", name)
	}
	return strconv.ParseInt(v.Value, 10, 64)
}

func measurement(item map[string]types.AttributeValue) (domain.Measurement, error) {
	amount, err := integer(item, "Amount")
	if err != nil {
		return domain.Measurement{}, err
	}
	events, err := integer(item, "Events")
	return domain.Measurement{Amount: amount, Events: events}, err
}

// Totals reads the totals item.
func (s *Store) Totals(ctx context.Context, id string) (domain.Measurement, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(id, keyTotals), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.Measurement{}, fmt.Errorf("get totals: %w", err)
	}
	if out.Item == nil {
		return domain.Measurement{}, app.ErrNotFound
	}
	m, err := measurement(out.Item)
	if err != nil {
		return domain.Measurement{}, fmt.Errorf("decode totals: %w", err)
	}
	return m, nil
}

// Hours queries the hour items from from on, in key order (RFC 3339 UTC sorts by time).
func (s *Store) Hours(ctx context.Context, id string, from time.Time, limit int) ([]app.Bucket, error) {
	var out []app.Bucket
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#id = :id AND #k BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#id": AttrID, "#k": AttrKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id": &types.AttributeValueMemberS{Value: id}, ":from": &types.AttributeValueMemberS{Value: hourKey(from)},
			":to": &types.AttributeValueMemberS{Value: hourPrefix + "~"},
		},
		Limit: aws.Int32(int32(limit)),
	})
	for p.HasMorePages() && len(out) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query hours: %w", err)
		}
		for _, item := range page.Items {
			m, err := measurement(item)
			if err != nil {
				return nil, fmt.Errorf("decode hour: %w", err)
			}
			start, err := str(item, "HourStart")
			if err != nil {
				return nil, fmt.Errorf("decode hour: %w", err)
			}
			h, err := time.Parse(time.RFC3339, start)
			if err != nil {
				return nil, fmt.Errorf("decode hour %q: %w", start, err)
			}
			out = append(out, app.Bucket{Hour: h, Measurement: m})
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// CatchUp reads the catch-up record.
func (s *Store) CatchUp(ctx context.Context) (app.CatchUpRecord, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(keyCatchUp, keyCatchUp), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return app.CatchUpRecord{}, false, fmt.Errorf("get catch-up: %w", err)
	}
	if out.Item == nil {
		return app.CatchUpRecord{}, false, nil
	}
	var r app.CatchUpRecord
	var from, to string
	if r.ReplayName, err = str(out.Item, "ReplayName"); err == nil {
		if from, err = str(out.Item, "From"); err == nil {
			to, err = str(out.Item, "To")
		}
	}
	if err == nil {
		if r.From, err = time.Parse(time.RFC3339Nano, from); err == nil {
			r.To, err = time.Parse(time.RFC3339Nano, to)
		}
	}
	if err != nil {
		return app.CatchUpRecord{}, false, fmt.Errorf("decode catch-up: %w", err)
	}
	done, _ := out.Item["Completed"].(*types.AttributeValueMemberBOOL)
	r.Completed = done != nil && done.Value
	return r, true, nil
}

// SaveCatchUp puts r on condition that no record or r's replay is recorded.
func (s *Store) SaveCatchUp(ctx context.Context, r app.CatchUpRecord) (app.CatchUpRecord, error) {
	item := key(keyCatchUp, keyCatchUp)
	item["ReplayName"] = &types.AttributeValueMemberS{Value: r.ReplayName}
	item["From"] = &types.AttributeValueMemberS{Value: r.From.UTC().Format(time.RFC3339Nano)}
	item["To"] = &types.AttributeValueMemberS{Value: r.To.UTC().Format(time.RFC3339Nano)}
	item["Completed"] = &types.AttributeValueMemberBOOL{Value: r.Completed}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(" + AttrID + ") OR ReplayName = :name"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":name": &types.AttributeValueMemberS{Value: r.ReplayName}},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		cur, _, err := s.CatchUp(ctx)
		return cur, err
	}
	if err != nil {
		return app.CatchUpRecord{}, fmt.Errorf("put catch-up: %w", err)
	}
	return r, nil
}
