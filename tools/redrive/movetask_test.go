package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/queue"
)

// TestRedriveWithMessageMoveTask runs the StartMessageMoveTask path (which moto lacks)
// against devstack's SQS emulator, whose queues carry the same tags as on AWS.
func TestRedriveWithMessageMoveTask(t *testing.T) {
	b, err := queue.Open(queue.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer b.Close()
	dlq, err := b.CreateQueue(queue.Config{Name: "sub-dlq", Tags: map[string]string{tagService: "projections", tagStage: "local", tagDeadLetter: "true"}})
	require.NoError(t, err)
	src, err := b.CreateQueue(queue.Config{Name: "sub", DeadLetter: "sub-dlq", MaxReceiveCount: 3})
	require.NoError(t, err)
	for _, body := range []string{"a", "b", "c"} {
		_, err := dlq.Send(body)
		require.NoError(t, err)
	}
	api := &queue.API{Broker: b, Region: "us-east-1", Account: "000000000000"}
	srv := httptest.NewServer(api)
	defer srv.Close()
	api.BaseURL = srv.URL
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})

	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-service", "projections", "-stage", "local", "-poll", "10ms"}, &out, client), out.String())
	require.Contains(t, out.String(), "COMPLETED, 3 of 3 moved")
	require.Empty(t, dlq.Messages(), "the dead-letter queue is empty")
	require.Len(t, src.Messages(), 3, "every dead letter is back in its queue")
}
