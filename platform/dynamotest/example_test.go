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
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
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

func TestNewTable(t *testing.T) {
	b := dynamotest.Minidyn(t)
	create := func(ctx context.Context, client *dynamodb.Client, table string) error {
		_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(table),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		})
		return err
	}
	first := b.NewTable(t, "views", create)
	second := b.NewTable(t, "views", create)
	require.NotEqual(t, first, second, "got the same table name twice, want one per call")
	for _, name := range []string{first, second} {
		require.Regexp(t, `^views-[0-9]+$`, name)
		_, err := b.Client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		require.NoError(t, err, "got %v describing %s, want the table created", err, name)
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
