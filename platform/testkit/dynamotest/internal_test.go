package dynamotest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

// createTable creates a table keyed by the string pk.
func createTable(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	return err
}

func TestBackendsServeTheDynamoDBAPI(t *testing.T) {
	Run(t, func(t *testing.T, b Backend) {
		ctx := context.Background()
		require.NoError(t, createTable(ctx, b.Client, "probe"))
		put := func() error {
			_, err := b.Client.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:           aws.String("probe"),
				Item:                map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			})
			return err
		}
		require.NoError(t, put())
		err := put()
		var ccf *types.ConditionalCheckFailedException
		require.ErrorAs(t, err, &ccf, "got %v, want ConditionalCheckFailedException", err)
	})
}

func TestNewTable(t *testing.T) {
	b := Minidyn(t)
	first := b.NewTable(t, "views", createTable)
	second := b.NewTable(t, "views", createTable)
	require.NotEqual(t, first, second, "got the same table name twice, want one per call")
	for _, name := range []string{first, second} {
		require.Regexp(t, `^views-[0-9]+$`, name)
		_, err := b.Client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		require.NoError(t, err, "got %v describing %s, want the table created", err, name)
	}
}

func TestCreateEmpty(t *testing.T) {
	put := func(ctx context.Context, client *dynamodb.Client, table string) error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
			Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
		return err
	}
	outage := errors.New("outage")
	tests := []struct {
		name    string
		create  func(ctx context.Context, client *dynamodb.Client, table string) error
		wantErr string
	}{
		{name: "created once", create: createTable},
		{name: "created by a retried request", create: func(ctx context.Context, c *dynamodb.Client, table string) error {
			require.NoError(t, createTable(ctx, c, table))
			return createTable(ctx, c, table)
		}},
		{name: "existing table with items", create: func(ctx context.Context, c *dynamodb.Client, table string) error {
			require.NoError(t, createTable(ctx, c, table))
			require.NoError(t, put(ctx, c, table))
			return createTable(ctx, c, table)
		}, wantErr: "not empty"},
		{name: "other failure", create: func(context.Context, *dynamodb.Client, string) error { return outage }, wantErr: "outage"},
	}
	b := Minidyn(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.createEmpty(t.Context(), "t"+string(rune('a'+i)), tt.create)
			if tt.wantErr == "" {
				require.NoError(t, err, "got %v, want the table accepted", err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestMotoEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		log     string
		want    string
		wantErr string
	}{
		{name: "werkzeug banner", log: "WARNING: development server\n * Running on http://127.0.0.1:41165\nPress CTRL+C to quit\n", want: "http://127.0.0.1:41165"},
		{name: "exits before listening", log: "Traceback\nOSError: [Errno 98] Address already in use\n", wantErr: "Address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := motoEndpoint(strings.NewReader(tt.log), 5*time.Second)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "got endpoint %q, want %q", got, tt.want)
		})
	}
	t.Run("silent server times out", func(t *testing.T) {
		r, w := io.Pipe()
		defer w.Close()
		_, err := motoEndpoint(r, 50*time.Millisecond)
		require.ErrorContains(t, err, "not listening after")
	})
}
