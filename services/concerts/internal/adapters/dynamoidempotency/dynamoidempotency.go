// Package dynamoidempotency is the DynamoDB idempotency store: one item per key,
// claims and completions as conditional writes, and a TTL attribute so DynamoDB
// deletes records after their retention.
package dynamoidempotency

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/concertsys/platform/dynamotable"
	"github.com/concertsys/services/concerts/internal/ports"
)

var _ ports.IdempotencyStore = (*Store)(nil)

// Attribute names of the table. TTLAttribute holds epoch seconds; enable TTL on it.
const (
	AttrKey         = "Key"
	AttrFingerprint = "Fingerprint"
	AttrAggregateID = "AggregateId"
	AttrState       = "State"
	AttrToken       = "Token"
	AttrClaimedAt   = "ClaimedAt"  // epoch milliseconds
	AttrLeaseUntil  = "LeaseUntil" // epoch milliseconds
	TTLAttribute    = "ExpiresAt"  // epoch seconds (DynamoDB TTL)
	AttrStatus      = "ResponseStatus"
	AttrHeaders     = "ResponseHeaders"
	AttrBody        = "ResponseBody"
)

// Store is the DynamoDB adapter.
type Store struct {
	client *dynamodb.Client
	table  string
}

// New returns a store over table.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table}
}

// CreateTable creates the table (key AttrKey) and waits until it is active. TTL on
// TTLAttribute is enabled where the server supports it (the CDK stack enables it on
// AWS).
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	err := dynamotable.Create(ctx, client, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(AttrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(AttrKey), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		return err
	}
	_, _ = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true)},
	}) // best effort: TTL only matters for cleanup, and not every emulator has it
	return nil
}

// Create implements ports.IdempotencyStore.
func (s *Store) Create(ctx context.Context, rec ports.IdempotencyRecord) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item(rec),
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": AttrKey},
	})
	if dynamotable.ConditionFailed(err) {
		return ports.ErrRecordExists
	}
	if err != nil {
		return fmt.Errorf("create idempotency record: %w", err)
	}
	return nil
}

// Get implements ports.IdempotencyStore.
func (s *Store) Get(ctx context.Context, key string) (ports.IdempotencyRecord, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{AttrKey: dynamotable.S(key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ports.IdempotencyRecord{}, fmt.Errorf("get idempotency record: %w", err)
	}
	if len(out.Item) == 0 {
		return ports.IdempotencyRecord{}, ports.ErrRecordNotFound
	}
	return fromItem(out.Item)
}

// Replace implements ports.IdempotencyStore.
func (s *Store) Replace(ctx context.Context, rec ports.IdempotencyRecord, token string) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item(rec),
		ConditionExpression:       aws.String("#t = :t"),
		ExpressionAttributeNames:  map[string]string{"#t": AttrToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": dynamotable.S(token)},
	})
	if dynamotable.ConditionFailed(err) {
		return ports.ErrTokenMismatch
	}
	if err != nil {
		return fmt.Errorf("replace idempotency record: %w", err)
	}
	return nil
}

// Delete implements ports.IdempotencyStore.
func (s *Store) Delete(ctx context.Context, key, token string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       map[string]types.AttributeValue{AttrKey: dynamotable.S(key)},
		ConditionExpression:       aws.String("#t = :t"),
		ExpressionAttributeNames:  map[string]string{"#t": AttrToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": dynamotable.S(token)},
	})
	if dynamotable.ConditionFailed(err) {
		return ports.ErrTokenMismatch
	}
	if err != nil {
		return fmt.Errorf("delete idempotency record: %w", err)
	}
	return nil
}

func item(r ports.IdempotencyRecord) map[string]types.AttributeValue {
	headers := make(map[string]types.AttributeValue, len(r.Response.Headers))
	for k, v := range r.Response.Headers {
		headers[k] = dynamotable.S(v)
	}
	it := map[string]types.AttributeValue{
		AttrKey:         dynamotable.S(r.Key),
		AttrFingerprint: dynamotable.S(r.Fingerprint),
		AttrState:       dynamotable.S(string(r.State)),
		AttrToken:       dynamotable.S(r.Token),
		AttrClaimedAt:   dynamotable.N(r.ClaimedAt.UnixMilli()),
		AttrLeaseUntil:  dynamotable.N(r.LeaseUntil.UnixMilli()),
		// Rounded up: TTL must never delete a record before its retention ends.
		TTLAttribute: dynamotable.N((r.ExpiresAt.UnixMilli() + 999) / 1000),
		AttrStatus:   dynamotable.N(int64(r.Response.Status)),
		AttrHeaders:  &types.AttributeValueMemberM{Value: headers},
	}
	// DynamoDB rejects empty strings in key attributes only, but leaving optional
	// empty values out keeps items small.
	if r.AggregateID != "" {
		it[AttrAggregateID] = dynamotable.S(r.AggregateID)
	}
	if r.Response.Body != "" {
		it[AttrBody] = dynamotable.S(r.Response.Body)
	}
	return it
}

func fromItem(it map[string]types.AttributeValue) (ports.IdempotencyRecord, error) {
	d := dynamotable.NewDecoder(it)
	str, num := d.OptionalS, d.Int
	r := ports.IdempotencyRecord{
		Key: str(AttrKey), Fingerprint: str(AttrFingerprint), AggregateID: str(AttrAggregateID),
		State: ports.IdempotencyState(str(AttrState)), Token: str(AttrToken),
		ClaimedAt:  time.UnixMilli(num(AttrClaimedAt)).UTC(),
		LeaseUntil: time.UnixMilli(num(AttrLeaseUntil)).UTC(),
		ExpiresAt:  time.Unix(num(TTLAttribute), 0).UTC(),
		Response:   ports.StoredResponse{Status: int(num(AttrStatus)), Body: str(AttrBody)},
	}
	if m, ok := it[AttrHeaders].(*types.AttributeValueMemberM); ok {
		r.Response.Headers = make(map[string]string, len(m.Value))
		for k, v := range m.Value {
			sv, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				d.Fail(fmt.Errorf("header %s is %T, want S", k, v))
				continue
			}
			r.Response.Headers[k] = sv.Value
		}
	}
	if err := d.Err(); err != nil {
		return ports.IdempotencyRecord{}, fmt.Errorf("decode idempotency record %q: %w", r.Key, err)
	}
	return r, nil
}
