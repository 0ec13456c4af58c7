package dynamotest_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/concertsys/platform/testkit/dynamotest"
)

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
