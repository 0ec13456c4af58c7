package sqsqueue_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/testkit/dynamotest"
	"github.com/concertsys/services/notifications/internal/adapters/sqsqueue"
)

// TestSendAgainstMoto sends batches to moto's SQS and reads them back.
func TestSendAgainstMoto(t *testing.T) {
	endpoint, err := dynamotest.StartMoto(t)
	require.NoError(t, err)
	client := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:  &http.Client{Timeout: 30 * time.Second},
	})
	ctx := context.Background()
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("fan-out-batches")})
	require.NoError(t, err)
	q := sqsqueue.New(client, *created.QueueUrl)

	tests := []struct {
		name string
		n    int
	}{{"one", 1}, {"a full SendMessageBatch", 10}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bodies [][]byte
			var want []string
			for i := range tt.n {
				b := fmt.Sprintf(`{"batch":%d}`, i)
				bodies = append(bodies, []byte(b))
				want = append(want, b)
			}
			require.NoError(t, q.Enqueue(ctx, bodies))
			var got []string
			for len(got) < tt.n {
				out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				require.NoError(t, err)
				require.NotEmpty(t, out.Messages, "got %d of %d messages", len(got), tt.n)
				for _, m := range out.Messages {
					got = append(got, *m.Body)
					_, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: created.QueueUrl, ReceiptHandle: m.ReceiptHandle})
					require.NoError(t, err)
				}
			}
			sort.Strings(got)
			sort.Strings(want)
			require.Equal(t, want, got, "got %v want %v", got, want)
		})
	}
	t.Run("a missing queue is an error", func(t *testing.T) {
		missing := sqsqueue.New(client, endpoint+"/000000000000/nope")
		require.Error(t, missing.Enqueue(ctx, [][]byte{[]byte(`{}`)}))
	})
}
