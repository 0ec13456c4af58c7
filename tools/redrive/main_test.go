package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/testkit/dynamotest"
)

// TestRedriveAgainstMoto moves a service's dead letters back to their source queue on
// moto's SQS, leaving another service's and another stage's dead letters alone.
func TestRedriveAgainstMoto(t *testing.T) {
	endpoint, err := dynamotest.StartMoto(t)
	require.NoError(t, err)
	client := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:  &http.Client{Timeout: 30 * time.Second},
	})
	ctx := context.Background()
	queue := func(name string, tags map[string]string, dlqArn string) (url, arn string) {
		in := &sqs.CreateQueueInput{QueueName: aws.String(name), Tags: tags}
		if dlqArn != "" {
			in.Attributes = map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"8"}`, dlqArn)}
		}
		out, err := client.CreateQueue(ctx, in)
		require.NoError(t, err)
		attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []types.QueueAttributeName{"QueueArn"}})
		require.NoError(t, err)
		return *out.QueueUrl, attrs.Attributes["QueueArn"]
	}
	tags := func(service, stage string) map[string]string {
		return map[string]string{tagService: service, tagStage: stage, tagDeadLetter: "true"}
	}
	dlq, dlqArn := queue("proj-dlq", tags("projections", "test"), "")
	src, _ := queue("proj-queue", map[string]string{tagService: "projections", tagStage: "test"}, dlqArn)
	otherDLQ, otherArn := queue("notif-dlq", tags("notifications", "test"), "")
	queue("notif-queue", nil, otherArn)
	prodDLQ, prodArn := queue("proj-prod-dlq", tags("projections", "prod"), "")
	queue("proj-prod-queue", nil, prodArn)

	var want []string
	for i := range 15 {
		body := fmt.Sprintf(`{"id":"e%d"}`, i)
		want = append(want, body)
		for _, q := range []string{dlq, otherDLQ, prodDLQ} {
			_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String(body)})
			require.NoError(t, err)
		}
	}
	drain := func(url string) []string {
		var got []string
		for {
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
			require.NoError(t, err)
			if len(out.Messages) == 0 {
				sort.Strings(got)
				return got
			}
			for _, m := range out.Messages {
				got = append(got, *m.Body)
			}
		}
	}

	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"no service", []string{"-stage", "test"}, "usage", ""},
		{"unknown service", []string{"-service", "billing", "-stage", "test"}, "no dead-letter queue", ""},
		{"dry run moves nothing", []string{"-service", "projections", "-stage", "test", "-dry-run"}, "", "15 messages"},
		{"bad method", []string{"-service", "projections", "-method", "teleport"}, "want move-task or receive", ""},
		{"redrive", []string{"-service", "projections", "-stage", "test", "-method", "receive"}, "", "moved 15 messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(ctx, tt.args, &out, client)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err, out.String())
			require.Contains(t, out.String(), tt.wantOut)
		})
	}
	sort.Strings(want)
	require.Equal(t, want, drain(src), "every dead letter back in its source queue")
	require.Empty(t, drain(dlq), "the dead-letter queue is empty")
	require.Len(t, drain(otherDLQ), 15, "another service's dead letters stay")
	require.Len(t, drain(prodDLQ), 15, "another stage's dead letters stay")
}
