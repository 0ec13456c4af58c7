// Package sqsqueue is the fan-out queue (app.BatchQueue) on Amazon SQS.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/concertsys/platform/backoff"
	"github.com/concertsys/services/notifications/internal/app"
)

// maxAttempts bounds the SendMessageBatch calls for the entries SQS answered as
// failed (a 200 with Failed entries); then Enqueue fails and the fan-out is retried.
const maxAttempts = 4

// Queue sends to one SQS queue.
type Queue struct {
	client *sqs.Client
	url    string
	retry  backoff.Policy
}

var _ app.BatchQueue = (*Queue)(nil)

// New sends to the queue at url.
func New(client *sqs.Client, url string) *Queue {
	return &Queue{client: client, url: url, retry: backoff.Policy{Base: 50 * time.Millisecond, Max: time.Second, Jitter: backoff.Equal}}
}

// Enqueue puts bodies with SendMessageBatch, retrying exactly the entries SQS reports as
// failed unless SQS says the sender is at fault (retrying cannot help then).
func (q *Queue) Enqueue(ctx context.Context, bodies [][]byte) error {
	if len(bodies) == 0 {
		return nil
	}
	pending := map[string]string{}
	for i, b := range bodies {
		pending[strconv.Itoa(i)] = string(b)
	}
	for attempt := 1; ; attempt++ {
		entries := make([]types.SendMessageBatchRequestEntry, 0, len(pending))
		for id, body := range pending {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(body)})
		}
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return fmt.Errorf("send %d fan-out batches: %w", len(entries), err)
		}
		for _, ok := range out.Successful {
			delete(pending, aws.ToString(ok.Id))
		}
		if len(pending) == 0 {
			return nil
		}
		var reasons []string
		senderFault := false
		for _, f := range out.Failed {
			reasons = append(reasons, fmt.Sprintf("%s: %s %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
			senderFault = senderFault || f.SenderFault
		}
		if senderFault || attempt == maxAttempts {
			return fmt.Errorf("send fan-out batches: %d failed after %d attempts: %s", len(pending), attempt, strings.Join(reasons, "; "))
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), fmt.Errorf("send fan-out batches: %d failed: %s", len(pending), strings.Join(reasons, "; ")))
		case <-time.After(q.retry.Delay(attempt)):
		}
	}
}
