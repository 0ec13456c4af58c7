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
	"github.com/concertsys/platform/dynamotest"
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
	for _, b := range dynamotest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			require.NoError(t, dynamotable.Create(ctx, b.Client, input("t1")))
			_, err := b.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t1"),
				Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
			require.NoError(t, err, "got %v writing to a created table, want success", err)
			err = dynamotable.Create(ctx, b.Client, input("t1"))
			require.ErrorContains(t, err, "create table t1")
		})
	}
}

// Tests and local tooling create an adapter's table and use it at once.
func ExampleCreate() {
	b, stop := dynamotest.StartMinidyn()
	defer stop()
	err := dynamotable.Create(context.Background(), b.Client, input("concerts"))
	fmt.Println(err)
	// Output: <nil>
}
