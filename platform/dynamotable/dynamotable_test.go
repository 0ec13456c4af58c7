package dynamotable_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/dynamotable"
	"github.com/concertsys/platform/testkit/dynamotest"
)

func input(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	}
}

func TestCreate(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		ctx := context.Background()
		require.NoError(t, dynamotable.Create(ctx, b.Client, input("t1")))
		_, err := b.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t1"),
			Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
		require.NoError(t, err, "got %v writing to a created table, want success", err)
		err = dynamotable.Create(ctx, b.Client, input("t1"))
		require.ErrorContains(t, err, "create table t1")
	})
}

// Tests and local tooling create an adapter's table and use it at once.
func ExampleCreate() {
	b, stop := dynamotest.StartMinidyn()
	defer stop()
	err := dynamotable.Create(context.Background(), b.Client, input("concerts"))
	fmt.Println(err)
	// Output: <nil>
}

func TestConditionFailed(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		ctx := context.Background()
		require.NoError(t, dynamotable.Create(ctx, b.Client, input("cond")))
		put := func(table string) error {
			_, err := b.Client.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:                           aws.String(table),
				Item:                                map[string]types.AttributeValue{"pk": dynamotable.S("a"), "n": dynamotable.N(42)},
				ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
				ExpressionAttributeNames:            map[string]string{"#pk": "pk"},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			})
			return err
		}
		tests := []struct {
			name string
			err  error
			want bool
		}{
			{"first write", put("cond"), false},
			{"duplicate write", put("cond"), true},
			{"wrapped duplicate", fmt.Errorf("save: %w", put("cond")), true},
			{"missing table", put("no-such-table"), false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := dynamotable.ConditionFailed(tt.err)
				require.Equal(t, tt.want, got, "got %v for %v, want %v", got, tt.err, tt.want)
				item, failed := dynamotable.FailedItem(tt.err)
				require.Equal(t, tt.want, failed, "got FailedItem %v for %v, want %v", failed, tt.err, tt.want)
				if item != nil {
					require.Equal(t, dynamotable.N(42), item["n"], "got failed item %v, want the stored one", item)
				} else if failed {
					t.Logf("%s does not return the item a condition failed on", b.Name)
				}
			})
		}
	})
}

// Adapters build items and keys from plain Go values.
func ExampleN() {
	key := map[string]types.AttributeValue{"pk": dynamotable.S("concert-1"), "version": dynamotable.N(7)}
	fmt.Println(key["pk"].(*types.AttributeValueMemberS).Value, key["version"].(*types.AttributeValueMemberN).Value)
	// Output: concert-1 7
}
