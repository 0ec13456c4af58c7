// Package dynamotable creates DynamoDB tables and waits until they are usable. Adapters'
// CreateTable functions (for tests and local tooling; on AWS the CDK stacks own the
// tables) share it, so every one tolerates the same DynamoDB-API implementations. It
// also holds the small attribute-value and condition-failure helpers they all need.
package dynamotable

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Create creates the table described by input and returns once it is ACTIVE. A server
// that reports no status at all (minidyn) creates tables synchronously, so an empty
// status counts as active: the SDK's waiter would wait for ever there.
func Create(ctx context.Context, client *dynamodb.Client, input *dynamodb.CreateTableInput) error {
	name := aws.ToString(input.TableName)
	out, err := client.CreateTable(ctx, input)
	if err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	status := out.TableDescription.TableStatus
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		if status == types.TableStatusActive || status == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for table %s (%s): %w", name, status, ctx.Err())
		case <-time.After(delay):
		}
		d, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: input.TableName})
		if err != nil {
			return fmt.Errorf("wait for table %s: %w", name, err)
		}
		status = d.Table.TableStatus
	}
}
