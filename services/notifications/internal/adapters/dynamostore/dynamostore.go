// Package dynamostore is the connection store in one DynamoDB table.
//
// Key design (PK, SK both strings):
//
//	PK=CONN#<connectionId>  SK=#META                connection: ConnectedAt, ExpiresAt
//	PK=CONN#<connectionId>  SK=TOPIC#<concertID>        the connection's subscription to concertID
//	PK=CONN#<connectionId>  SK=VERSION#<concertId>  last version claimed for the connection: LastVersion, LeaseUntil
//	PK=TOPIC#<concertID>        SK=CONN#<connectionId>  subscriber of concertID (a concert id or "*")
//
// The subscribers of a concert and of "*" are each one Query on PK=TOPIC#…; everything
// of a connection is one Query on PK=CONN#…, which is how DeleteConnection finds the
// subscriber rows to remove. Every item carries ExpiresAt (epoch seconds), the table's
// TTL attribute (enabled by the CDK stack), so rows of connections whose $disconnect
// never ran disappear; reads also filter on it because TTL deletion lags.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/concertsys/platform/backoff"
	"github.com/concertsys/platform/dynamotable"
	"github.com/concertsys/services/notifications/internal/app"
)

var _ app.Store = (*Store)(nil)

// Attribute names of the table. PartitionKey and SortKey form the primary key;
// TTLAttribute is the attribute the CDK stack enables TTL on.
const (
	PartitionKey = "PK"
	SortKey      = "SK"
	TTLAttribute = "ExpiresAt"

	attrConnectedAt = "ConnectedAt"
	attrVersion     = "LastVersion"
	attrLease       = "LeaseUntil"

	prefixConn    = "CONN#"
	prefixConcert = "TOPIC#" // stored key format: a concert id (or "*") after it
	prefixVersion = "VERSION#"
	skMeta        = "#META"
)

// Store is the DynamoDB adapter of app.Store.
type Store struct {
	client *dynamodb.Client
	table  string
}

// New returns a store on an existing table.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table}
}

// CreateTable creates the table (on-demand). TTL is left to the CDK stack since not
// every DynamoDB-API implementation has UpdateTimeToLive.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	return dynamotable.Create(ctx, client, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(SortKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(SortKey), KeyType: types.KeyTypeRange},
		},
	})
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{PartitionKey: dynamotable.S(pk), SortKey: dynamotable.S(sk)}
}

func connPK(id string) string { return prefixConn + id }

func numAttr(item map[string]types.AttributeValue, name string) int64 {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		i, _ := strconv.ParseInt(v.Value, 10, 64)
		return i
	}
	return 0
}

func strAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// PutConnection implements app.Store.
func (st *Store) PutConnection(ctx context.Context, c app.Connection) error {
	item := itemKey(connPK(c.ID), skMeta)
	item[attrConnectedAt] = dynamotable.S(c.ConnectedAt.UTC().Format(time.RFC3339Nano))
	item[TTLAttribute] = dynamotable.N(c.ExpiresAt.Unix())
	if _, err := st.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: item}); err != nil {
		return fmt.Errorf("put connection %s: %w", c.ID, err)
	}
	return nil
}

// DeleteConnection implements app.Store.
func (st *Store) DeleteConnection(ctx context.Context, connectionID string) error {
	items, err := st.query(ctx, connPK(connectionID), "", time.Time{})
	if err != nil {
		return fmt.Errorf("list rows of connection %s: %w", connectionID, err)
	}
	var keys []map[string]types.AttributeValue
	for _, it := range items {
		sk := strAttr(it, SortKey)
		keys = append(keys, itemKey(connPK(connectionID), sk))
		if concertID, ok := strings.CutPrefix(sk, prefixConcert); ok {
			keys = append(keys, itemKey(prefixConcert+concertID, prefixConn+connectionID))
		}
	}
	// #META sorts first, so it goes first: Subscribe's condition then stops new
	// subscriptions, and a retried delete still finds whatever rows remain.
	for len(keys) > 0 {
		k := min(len(keys), 25)
		if err := st.batchDelete(ctx, keys[:k]); err != nil {
			return fmt.Errorf("delete rows of connection %s: %w", connectionID, err)
		}
		keys = keys[k:]
	}
	return nil
}

// unprocessedRetry is the wait before resending the deletes BatchWriteItem left
// unprocessed: 20ms doubling each time (AWS asks for exponential backoff there).
var unprocessedRetry = backoff.Policy{Base: 20 * time.Millisecond, Jitter: backoff.Equal}

// maxBatchDeleteAttempts bounds the BatchWriteItem calls of one batchDelete.
const maxBatchDeleteAttempts = 9

func (st *Store) batchDelete(ctx context.Context, keys []map[string]types.AttributeValue) error {
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
	}
	for attempt := 1; ; attempt++ {
		out, err := st.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{st.table: reqs},
		})
		if err != nil {
			return err
		}
		reqs = out.UnprocessedItems[st.table]
		if len(reqs) == 0 {
			return nil
		}
		if attempt == maxBatchDeleteAttempts {
			return fmt.Errorf("%d deletes still unprocessed after %d attempts", len(reqs), attempt)
		}
		if err := backoff.Sleep(ctx, unprocessedRetry.Delay(attempt)); err != nil {
			return err
		}
	}
}

// query reads every row of a partition (optionally with an SK prefix), skipping rows
// expired at now unless now is zero.
func (st *Store) query(ctx context.Context, pk, skPrefix string, now time.Time) ([]map[string]types.AttributeValue, error) {
	names := map[string]string{"#pk": PartitionKey}
	values := map[string]types.AttributeValue{":pk": dynamotable.S(pk)}
	cond := "#pk = :pk"
	if skPrefix != "" {
		names["#sk"] = SortKey
		values[":skp"] = dynamotable.S(skPrefix)
		cond += " AND begins_with(#sk, :skp)"
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ConsistentRead:            aws.Bool(true),
	}
	if !now.IsZero() {
		names["#exp"] = TTLAttribute
		values[":now"] = dynamotable.N(now.Unix())
		in.FilterExpression = aws.String("#exp > :now")
	}
	var out []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(st.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

// Subscribe implements app.Store: the two rows of a subscription are written in one
// transaction, conditional on the connection being recorded.
func (st *Store) Subscribe(ctx context.Context, connectionID, concertID string, expiresAt time.Time) error {
	mine := itemKey(connPK(connectionID), prefixConcert+concertID)
	mine[TTLAttribute] = dynamotable.N(expiresAt.Unix())
	sub := itemKey(prefixConcert+concertID, prefixConn+connectionID)
	sub[TTLAttribute] = dynamotable.N(expiresAt.Unix())
	_, err := st.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{ConditionCheck: &types.ConditionCheck{
				TableName:                aws.String(st.table),
				Key:                      itemKey(connPK(connectionID), skMeta),
				ConditionExpression:      aws.String("attribute_exists(#pk)"),
				ExpressionAttributeNames: map[string]string{"#pk": PartitionKey},
			}},
			{Put: &types.Put{TableName: aws.String(st.table), Item: mine}},
			{Put: &types.Put{TableName: aws.String(st.table), Item: sub}},
		},
	})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		// Cancellation reasons differ between implementations: look at the row.
		exists, gerr := st.exists(ctx, connPK(connectionID), skMeta)
		if gerr != nil {
			return fmt.Errorf("subscribe %s: %w (then: %w)", connectionID, err, gerr)
		}
		if !exists {
			return app.ErrConnectionNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", connectionID, concertID, err)
	}
	return nil
}

func (st *Store) exists(ctx context.Context, pk, sk string) (bool, error) {
	out, err := st.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: itemKey(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, err
	}
	return out.Item != nil, nil
}

// Unsubscribe implements app.Store.
func (st *Store) Unsubscribe(ctx context.Context, connectionID, concertID string) error {
	_, err := st.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: aws.String(st.table), Key: itemKey(connPK(connectionID), prefixConcert+concertID)}},
			{Delete: &types.Delete{TableName: aws.String(st.table), Key: itemKey(prefixConcert+concertID, prefixConn+connectionID)}},
		},
	})
	if err != nil {
		return fmt.Errorf("unsubscribe %s from %s: %w", connectionID, concertID, err)
	}
	return nil
}

// Subscriptions implements app.Store.
func (st *Store) Subscriptions(ctx context.Context, connectionID string, now time.Time) ([]string, error) {
	out, err := st.sortKeys(ctx, connPK(connectionID), prefixConcert, prefixConcert, now)
	if err != nil {
		return nil, fmt.Errorf("query subscriptions of %s: %w", connectionID, err)
	}
	return out, nil
}

// Subscribers implements app.Store.
func (st *Store) Subscribers(ctx context.Context, concertID string, now time.Time) ([]string, error) {
	out, err := st.sortKeys(ctx, prefixConcert+concertID, "", prefixConn, now)
	if err != nil {
		return nil, fmt.Errorf("query subscribers of %s: %w", concertID, err)
	}
	return out, nil
}

// sortKeys is the sort keys of the live rows query finds, without the prefix trim.
func (st *Store) sortKeys(ctx context.Context, pk, skPrefix, trim string, now time.Time) ([]string, error) {
	items, err := st.query(ctx, pk, skPrefix, now)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, strings.TrimPrefix(strAttr(it, SortKey), trim))
	}
	return out, nil
}

func versionKey(d app.Delivery) map[string]types.AttributeValue {
	return itemKey(connPK(d.ConnectionID), prefixVersion+d.ConcertID)
}

var versionNames = map[string]string{"#pk": PartitionKey, "#v": attrVersion, "#l": attrLease, "#e": TTLAttribute}

// ClaimDelivery implements app.Store with one conditional UpdateItem.
func (st *Store) ClaimDelivery(ctx context.Context, d app.Delivery, now, leaseUntil, expiresAt time.Time) (app.Claim, error) {
	out, err := st.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.table),
		Key:                      versionKey(d),
		UpdateExpression:         aws.String("SET #v = :v, #l = :lease, #e = :exp"),
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR (#v < :v AND #l <= :now)"),
		ExpressionAttributeNames: versionNames,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v": dynamotable.N(d.Version), ":lease": dynamotable.N(leaseUntil.UnixNano()), ":exp": dynamotable.N(expiresAt.Unix()), ":now": dynamotable.N(now.UnixNano()),
		},
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if cur, failed := dynamotable.FailedItem(err); failed {
		if cur == nil { // a server that ignores ReturnValuesOnConditionCheckFailure: read it
			got, gerr := st.client.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String(st.table), Key: versionKey(d), ConsistentRead: aws.Bool(true),
			})
			if gerr != nil {
				return app.Claim{}, fmt.Errorf("read version of %s for %s: %w", d.ConcertID, d.ConnectionID, gerr)
			}
			cur = got.Item
		}
		prev := numAttr(cur, attrVersion)
		if prev >= d.Version {
			return app.Claim{Outcome: app.Superseded, Previous: prev}, nil
		}
		return app.Claim{Outcome: app.InFlight, Previous: prev}, nil
	}
	if err != nil {
		return app.Claim{}, fmt.Errorf("claim %s v%d for %s: %w", d.ConcertID, d.Version, d.ConnectionID, err)
	}
	return app.Claim{Outcome: app.Claimed, Previous: numAttr(out.Attributes, attrVersion), LeaseUntil: time.Unix(0, leaseUntil.UnixNano())}, nil
}

// ownClaim is the condition that the row is still the claim c made.
const ownClaim = "#v = :v AND #l = :lease"

// ConfirmDelivery implements app.Store.
func (st *Store) ConfirmDelivery(ctx context.Context, d app.Delivery, c app.Claim) error {
	_, err := st.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.table),
		Key:                       versionKey(d),
		UpdateExpression:          aws.String("SET #l = :zero"),
		ConditionExpression:       aws.String(ownClaim),
		ExpressionAttributeNames:  map[string]string{"#v": attrVersion, "#l": attrLease},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": dynamotable.N(d.Version), ":lease": dynamotable.N(c.LeaseUntil.UnixNano()), ":zero": dynamotable.N(0)},
	})
	return ignoreLostClaim(err, "confirm", d)
}

// ReleaseDelivery implements app.Store.
func (st *Store) ReleaseDelivery(ctx context.Context, d app.Delivery, c app.Claim) error {
	names := map[string]string{"#v": attrVersion, "#l": attrLease}
	values := map[string]types.AttributeValue{":v": dynamotable.N(d.Version), ":lease": dynamotable.N(c.LeaseUntil.UnixNano())}
	var err error
	if c.Previous == 0 {
		_, err = st.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(st.table), Key: versionKey(d),
			ConditionExpression: aws.String(ownClaim), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
	} else {
		values[":prev"], values[":zero"] = dynamotable.N(c.Previous), dynamotable.N(0)
		_, err = st.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(st.table), Key: versionKey(d),
			UpdateExpression:    aws.String("SET #v = :prev, #l = :zero"),
			ConditionExpression: aws.String(ownClaim), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
	}
	return ignoreLostClaim(err, "release", d)
}

// ignoreLostClaim treats a failed ownership condition as done: the claim was already
// confirmed, released, or its row deleted with the connection.
func ignoreLostClaim(err error, op string, d app.Delivery) error {
	if err == nil || dynamotable.ConditionFailed(err) {
		return nil
	}
	return fmt.Errorf("%s %s v%d for %s: %w", op, d.ConcertID, d.Version, d.ConnectionID, err)
}
