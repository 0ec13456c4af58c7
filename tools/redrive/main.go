// Command redrive moves the messages of a service's dead-letter queues on AWS back to
// the queues they failed in, once the cause is fixed: the AWS counterpart of
// `devstack dead-letters redrive`.
//
//	go run ./tools/redrive -service projections -stage dev   (or: make redrive SERVICE=projections STAGE=dev)
//
// It finds the dead-letter queues by the tags platform/infra and tools/cdkapp put on
// them (concertsys:service, concertsys:stage, concertsys:dead-letter), and the queue
// each feeds back to with ListDeadLetterSourceQueues. Each is moved with SQS's
// StartMessageMoveTask, followed with ListMessageMoveTasks until it ends. With
// -method receive (for endpoints without message move tasks: moto answers them 500
// "not yet implemented", so the tests use it) it moves with ReceiveMessage,
// SendMessageBatch and DeleteMessageBatch: a message is deleted from the dead-letter
// queue only after the source queue accepted it, so a failure leaves it where it was
// (at worst a duplicate, which consumers tolerate).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Tags of the dead-letter queues (platform/infra TagServiceKey, TagStage, TagDeadLetter).
const (
	tagService    = "concertsys:service"
	tagStage      = "concertsys:stage"
	tagDeadLetter = "concertsys:dead-letter"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "redrive:", err)
		os.Exit(1)
	}
}

// run parses args and redrives; client, when set, replaces the SDK's default client.
func run(ctx context.Context, args []string, out io.Writer, client *sqs.Client) error {
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	svc := fs.String("service", "", "service whose dead-letter queues to redrive (concerts, projections, notifications)")
	stage := fs.String("stage", "dev", "stage")
	dryRun := fs.Bool("dry-run", false, "list the dead-letter queues and their message counts, move nothing")
	poll := fs.Duration("poll", 5*time.Second, "how often to check a message move task")
	method := fs.String("method", "move-task", "move-task: SQS StartMessageMoveTask (AWS); receive: ReceiveMessage, SendMessageBatch, DeleteMessageBatch (endpoints without move tasks, e.g. moto)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *svc == "" || fs.NArg() > 0 {
		return errors.New("usage: redrive -service NAME [-stage STAGE] [-dry-run] [-method move-task|receive]")
	}
	if *method != "move-task" && *method != "receive" {
		return fmt.Errorf("-method %q: want move-task or receive", *method)
	}
	if client == nil {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("load AWS config: %w", err)
		}
		client = sqs.NewFromConfig(cfg)
	}
	r := redriver{client: client, out: out, poll: *poll, byHand: *method == "receive"}
	dlqs, err := r.find(ctx, *svc, *stage)
	if err != nil {
		return err
	}
	if len(dlqs) == 0 {
		return fmt.Errorf("no dead-letter queue tagged %s=%s, %s=%s", tagService, *svc, tagStage, *stage)
	}
	var errs []error
	for _, q := range dlqs {
		n, err := r.count(ctx, q.url)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(out, "%s: %d messages -> %s\n", q.url, n, strings.Join(q.sources, ", "))
		if *dryRun || n == 0 {
			continue
		}
		if err := r.redrive(ctx, q); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", q.url, err))
		}
	}
	return errors.Join(errs...)
}

type redriver struct {
	client *sqs.Client
	out    io.Writer
	poll   time.Duration
	byHand bool
}

type deadLetterQueue struct {
	url, arn string
	sources  []string // URLs of the queues whose redrive policy names it
}

// find lists the service's dead-letter queues of the stage.
func (r redriver) find(ctx context.Context, service, stage string) ([]deadLetterQueue, error) {
	var out []deadLetterQueue
	p := sqs.NewListQueuesPaginator(r.client, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list queues: %w", err)
		}
		for _, url := range page.QueueUrls {
			tags, err := r.client.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(url)})
			if err != nil {
				return nil, fmt.Errorf("tags of %s: %w", url, err)
			}
			if tags.Tags[tagService] != service || tags.Tags[tagStage] != stage || tags.Tags[tagDeadLetter] != "true" {
				continue
			}
			q := deadLetterQueue{url: url}
			attrs, err := r.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
			if err != nil {
				return nil, fmt.Errorf("attributes of %s: %w", url, err)
			}
			q.arn = attrs.Attributes[string(types.QueueAttributeNameQueueArn)]
			src, err := r.client.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(url)})
			if err != nil {
				return nil, fmt.Errorf("source queues of %s: %w", url, err)
			}
			q.sources = src.QueueUrls
			out = append(out, q)
		}
	}
	return out, nil
}

func (r redriver) count(ctx context.Context, url string) (int, error) {
	attrs, err := r.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return 0, fmt.Errorf("attributes of %s: %w", url, err)
	}
	var n int
	_, _ = fmt.Sscan(attrs.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)], &n)
	return n, nil
}

// redrive moves q's messages back: with a message move task, else by hand.
func (r redriver) redrive(ctx context.Context, q deadLetterQueue) error {
	if len(q.sources) == 0 {
		// The Pipe's dead-letter queue holds stream coordinates, not events; nothing
		// feeds them back, so they are read by hand.
		fmt.Fprintf(r.out, "%s: no source queue (the Pipe's records of failed stream batches): inspect by hand\n", q.url)
		return nil
	}
	if len(q.sources) != 1 {
		// A queue fed by several (or no) queues: a move task without a destination
		// would need each message's origin; this project gives each its own.
		return fmt.Errorf("want exactly one source queue, found %d (%v)", len(q.sources), q.sources)
	}
	if r.byHand {
		n, err := r.moveByHand(ctx, q.url, q.sources[0])
		fmt.Fprintf(r.out, "%s: moved %d messages\n", q.url, n)
		return err
	}
	task, err := r.client.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(q.arn)})
	if err != nil {
		return fmt.Errorf("start message move task (an endpoint without move tasks needs -method receive): %w", err)
	}
	return r.follow(ctx, q, aws.ToString(task.TaskHandle))
}

// follow polls the move task of q until it ends.
func (r redriver) follow(ctx context.Context, q deadLetterQueue, handle string) error {
	for {
		out, err := r.client.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(q.arn), MaxResults: aws.Int32(1)})
		if err != nil {
			return fmt.Errorf("list message move tasks: %w", err)
		}
		if len(out.Results) == 0 {
			return fmt.Errorf("message move task %s not listed", handle)
		}
		t := out.Results[0]
		fmt.Fprintf(r.out, "%s: %s, %d of %d moved\n", q.url, aws.ToString(t.Status), t.ApproximateNumberOfMessagesMoved, aws.ToInt64(t.ApproximateNumberOfMessagesToMove))
		switch aws.ToString(t.Status) {
		case "COMPLETED":
			return nil
		case "FAILED", "CANCELLED":
			return fmt.Errorf("message move task %s: %s %s", handle, aws.ToString(t.Status), aws.ToString(t.FailureReason))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.poll):
		}
	}
}

// moveByHand receives from src, sends to dst and deletes from src what dst accepted,
// until src answers no message.
func (r redriver) moveByHand(ctx context.Context, src, dst string) (int, error) {
	moved := 0
	for {
		got, err := r.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(src), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return moved, fmt.Errorf("receive: %w", err)
		}
		if len(got.Messages) == 0 {
			return moved, nil
		}
		entries := make([]types.SendMessageBatchRequestEntry, len(got.Messages))
		for i, m := range got.Messages {
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: m.Body, MessageAttributes: m.MessageAttributes}
		}
		sent, err := r.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(dst), Entries: entries})
		if err != nil {
			return moved, fmt.Errorf("send: %w", err)
		}
		var del []types.DeleteMessageBatchRequestEntry
		for _, ok := range sent.Successful {
			var i int
			_, _ = fmt.Sscan(aws.ToString(ok.Id), &i)
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: ok.Id, ReceiptHandle: got.Messages[i].ReceiptHandle})
		}
		if len(del) > 0 {
			d, err := r.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(src), Entries: del})
			if err != nil {
				return moved, fmt.Errorf("delete: %w", err)
			}
			moved += len(d.Successful)
		}
		if len(sent.Failed) > 0 {
			f := sent.Failed[0]
			return moved, fmt.Errorf("%d messages not accepted by %s (they stay in the dead-letter queue): %s %s",
				len(sent.Failed), dst, aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
}
