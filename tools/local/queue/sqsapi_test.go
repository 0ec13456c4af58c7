package queue_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/queue"
)

// TestAPIWithTheSDK drives the emulator's SQS JSON protocol with the AWS SDK's sqs
// client: send, receive, partial delete, attributes, a redrive to the dead-letter
// queue and a message move task back.
func TestAPIWithTheSDK(t *testing.T) {
	b, err := queue.Open(queue.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer b.Close()
	_, err = b.CreateQueue(queue.Config{Name: "work-dlq"})
	require.NoError(t, err)
	_, err = b.CreateQueue(queue.Config{Name: "work", DeadLetter: "work-dlq", MaxReceiveCount: 1})
	require.NoError(t, err)
	api := &queue.API{Broker: b, Region: "us-east-1", Account: "000000000000"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	api.BaseURL = srv.URL
	c := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""), RetryMaxAttempts: 1})
	ctx := context.Background()

	url, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("work")})
	require.NoError(t, err)
	require.Equal(t, api.QueueURL("work"), *url.QueueUrl)
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var missing *types.QueueDoesNotExist
	require.ErrorAs(t, err, &missing, "got %v want QueueDoesNotExist", err)

	list, err := c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("work")})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{api.QueueURL("work"), api.QueueURL("work-dlq")}, list.QueueUrls)

	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url.QueueUrl, MessageBody: aws.String("one")})
	require.NoError(t, err)
	sent, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url.QueueUrl, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("two")}, {Id: aws.String("b"), MessageBody: aws.String("three")},
	}})
	require.NoError(t, err)
	require.Len(t, sent.Successful, 2)

	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 1})
	require.NoError(t, err)
	require.Len(t, got.Messages, 3)
	var bodies []string
	for _, m := range got.Messages {
		bodies = append(bodies, *m.Body)
		require.Equal(t, "1", m.Attributes["ApproximateReceiveCount"])
	}
	sort.Strings(bodies)
	require.Equal(t, []string{"one", "three", "two"}, bodies)
	// Delete two; the third stays in flight.
	del, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: url.QueueUrl, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("x"), ReceiptHandle: got.Messages[0].ReceiptHandle}, {Id: aws.String("y"), ReceiptHandle: got.Messages[1].ReceiptHandle},
	}})
	require.NoError(t, err)
	require.Len(t, del.Successful, 2)
	_, err = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url.QueueUrl, ReceiptHandle: aws.String("garbage")})
	var badHandle *types.ReceiptHandleIsInvalid
	require.ErrorAs(t, err, &badHandle, "got %v want ReceiptHandleIsInvalid", err)

	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []types.QueueAttributeName{"All"}})
	require.NoError(t, err)
	require.Equal(t, 1, atoi(t, attrs.Attributes["ApproximateNumberOfMessagesNotVisible"])+atoi(t, attrs.Attributes["ApproximateNumberOfMessages"]))
	require.Contains(t, attrs.Attributes["RedrivePolicy"], api.QueueARN("work-dlq"))

	// Visible again after its 1 s, then, received once already (maxReceiveCount 1),
	// moved to the dead-letter queue by the next receive.
	q, err := b.Queue("work")
	require.NoError(t, err)
	for i := 0; len(q.Messages()) > 0; i++ {
		require.Less(t, i, 5, "the message never reached the dead-letter queue")
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, WaitTimeSeconds: 2})
		require.NoError(t, err)
		require.Empty(t, out.Messages, "a message past maxReceiveCount is moved, not received")
	}
	dlqURL := api.QueueURL("work-dlq")
	sources, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlqURL)})
	require.NoError(t, err)
	require.Equal(t, []string{*url.QueueUrl}, sources.QueueUrls)

	task, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(api.QueueARN("work-dlq"))})
	require.NoError(t, err)
	tasks, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(api.QueueARN("work-dlq"))})
	require.NoError(t, err)
	require.Len(t, tasks.Results, 1)
	require.Equal(t, *task.TaskHandle, *tasks.Results[0].TaskHandle)
	require.Equal(t, "COMPLETED", *tasks.Results[0].Status)
	require.Equal(t, int64(1), tasks.Results[0].ApproximateNumberOfMessagesMoved)
	back, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl})
	require.NoError(t, err)
	require.Len(t, back.Messages, 1, "the dead letter is back in its queue")
	require.Equal(t, "1", back.Messages[0].Attributes["ApproximateReceiveCount"], "as a fresh message")
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
