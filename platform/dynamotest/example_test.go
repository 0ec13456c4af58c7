package dynamotest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/dynamotest"
)

func TestBackendsServeTheDynamoDBAPI(t *testing.T) {
	for _, b := range dynamotest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			_, err := b.Client.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            aws.String("probe"),
				BillingMode:          types.BillingModePayPerRequest,
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
			})
			require.NoError(t, err)
			_, err = b.Client.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:           aws.String("probe"),
				Item:                map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			})
			require.NoError(t, err)
			_, err = b.Client.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:           aws.String("probe"),
				Item:                map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			})
			var ccf *types.ConditionalCheckFailedException
			require.ErrorAs(t, err, &ccf, "got %v, want ConditionalCheckFailedException", err)
		})
	}
}

// A DynamoDB client backed by a real DynamoDB-API server.
func ExampleStartMinidyn() {
	b, stop := dynamotest.StartMinidyn()
	defer stop()
	ctx := context.Background()
	_, err := b.Client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("concerts"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := b.Client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("concerts")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Name, aws.ToString(out.Table.TableName))
	// Output: minidyn concerts
}
