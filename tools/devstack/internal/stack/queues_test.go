package stack_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/projections"
	"github.com/concertsys/tools/devstack/internal/stack"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
	"github.com/concertsys/tools/local/localiam"
	"github.com/concertsys/tools/local/queue"
)

// TestConsumerFailureReachesTheQueueDeadLetterQueue: an event the projections
// consumer cannot apply goes rule -> queue -> mapping -> function, is received
// MaxAttempts times, then lands in the subscription's dead-letter queue, which
// `devstack dead-letters list` shows and `redrive` sends back through the queue.
func TestConsumerFailureReachesTheQueueDeadLetterQueue(t *testing.T) {
	st, err := stack.Start(context.Background(), stack.Config{
		Addr: "127.0.0.1:0", InMemory: true, CredentialsFile: filepath.Join(t.TempDir(), "keys.json"),
		Logger: slog.New(slog.DiscardHandler), TimeScale: 0.0002, // visibility 36 ms
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	dev, err := st.CredentialsProvider(localiam.Developer)
	require.NoError(t, err)
	ctx := context.Background()
	eb := eventbridge.New(eventbridge.Options{Region: stack.Region, BaseEndpoint: aws.String(st.URL() + stack.EventsAPIPath), Credentials: dev})
	// A TicketsSold whose detail the consumer cannot decode: retrying cannot help.
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(stack.BusName), Source: aws.String("concerts"), DetailType: aws.String("TicketsSold"),
		Detail: aws.String(`{"metadata":{},"data":{"quantity":"many"}}`),
	}}})
	require.NoError(t, err)
	require.Zero(t, out.FailedEntryCount)
	eventID := *out.Entries[0].EventId

	client := eventsapi.DevClient{BaseURL: st.URL() + stack.EventsAPIPath, Credentials: dev}
	// Every consumer of TicketsSold (projections, sales) dead-letters its own copy;
	// this test follows the projections one.
	projectionsDeadLetters := func() []bus.DeadLetter {
		all, err := client.DeadLetters(ctx)
		require.NoError(t, err)
		var out []bus.DeadLetter
		for _, dl := range all {
			if dl.Rule == projections.SubscriptionName {
				out = append(out, dl)
			}
		}
		return out
	}
	var dls []bus.DeadLetter
	require.Eventually(t, func() bool {
		dls = projectionsDeadLetters()
		return len(dls) == 1
	}, 20*time.Second, 20*time.Millisecond, "the failing event reaches the queue's dead-letter queue")
	dl := dls[0]
	require.Equal(t, projections.SubscriptionName, dl.Rule)
	require.Equal(t, projections.SubscriptionName, dl.Queue)
	require.Equal(t, queue.ReasonMaxReceiveCount, dl.Reason)
	require.Equal(t, subscription.DefaultMaxAttempts, dl.Attempts, "got %d receives want the subscription's MaxAttempts", dl.Attempts)
	require.Equal(t, eventID, dl.Event.ID, "the dead letter is the event as the rule sent it")
	require.NotEmpty(t, dl.LastError)

	n, err := client.Redrive(ctx, dl.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	// Still undecodable: it goes round again and returns to the dead-letter queue,
	// as a new message (StartMessageMoveTask gives moved messages new ids).
	require.Eventually(t, func() bool {
		dls = projectionsDeadLetters()
		return len(dls) == 1 && dls[0].ID != dl.ID
	}, 20*time.Second, 20*time.Millisecond, "the redriven event fails again and returns")
	require.Equal(t, eventID, dls[0].Event.ID)
}

// TestSQSEndpoint: devstack's queues answer the AWS SDK's sqs client with the
// developer's keys, and refuse a service's.
func TestSQSEndpoint(t *testing.T) {
	st := startInMemory(t, filepath.Join(t.TempDir(), "keys.json"))
	ctx := context.Background()
	client := func(principal string) *sqs.Client {
		creds, err := st.CredentialsProvider(principal)
		require.NoError(t, err)
		return sqs.New(sqs.Options{Region: stack.Region, BaseEndpoint: aws.String(st.URL() + stack.SQSPath), Credentials: creds, RetryMaxAttempts: 1})
	}
	dev := client(localiam.Developer)
	list, err := dev.ListQueues(ctx, &sqs.ListQueuesInput{})
	require.NoError(t, err)
	var names []string
	for _, u := range list.QueueUrls {
		names = append(names, u[strings.LastIndex(u, "/")+1:])
	}
	for _, want := range []string{projections.SubscriptionName, projections.SubscriptionName + stack.DeadLetterQueueSuffix,
		stack.WorkerQueueName(notifications.Name, notifications.QueueFanOutBatches)} {
		require.Contains(t, names, want, "got queues %v", names)
	}
	url, err := dev.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(projections.SubscriptionName)})
	require.NoError(t, err)
	attrs, err := dev.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl})
	require.NoError(t, err)
	require.Equal(t, "180", attrs.Attributes["VisibilityTimeout"], "6 x the 30 s consumer timeout")
	require.Contains(t, attrs.Attributes["RedrivePolicy"], `"maxReceiveCount":8`)

	_, err = client(localiam.Projections).ListQueues(ctx, &sqs.ListQueuesInput{})
	require.ErrorContains(t, err, "AccessDenied", "got %v want AccessDeniedException for a service's key", err)
}
