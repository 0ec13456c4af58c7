package stack

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/queueconsumer"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/platform/tracing"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/lambdainvoke"
	"github.com/concertsys/tools/local/queue"
)

// Every consumer is fed as on AWS (platform/infra NewSubscriber): the rule puts the
// event into the subscription's queue (the bus's retry policy and dead-letter store
// cover only that step), an event source mapping invokes the function with SQS
// batches through the same queueconsumer wrapper the Lambda runs, a failed event is
// received again after the visibility timeout and moves to the queue's dead-letter
// queue after the subscription's MaxAttempts receives.
const (
	// ConsumerTimeout is a consumer invocation's timeout (projections' consumer on
	// AWS; the fan-out's is 10 s), and VisibilityTimeoutFactor times it the queue's
	// visibility timeout, as platform/infra deploys it.
	ConsumerTimeout         = 30 * time.Second
	VisibilityTimeoutFactor = 6
	// QueuesFile is the queues' file in the data directory.
	QueuesFile = "queues.db"
	// DeadLetterQueueSuffix names a subscription's dead-letter queue.
	DeadLetterQueueSuffix = "-dlq"
)

// QueueARN is the ARN of the emulated queue name.
func QueueARN(name string) string { return "arn:aws:sqs:" + Region + ":" + Account + ":" + name }

// openQueues opens the queue broker of the stack (in memory when dataDir is empty)
// and lists its dead-letter queues with the bus's dead letters.
func (s *Stack) openQueues(dataDir string) error {
	path := ""
	if dataDir != "" {
		path = filepath.Join(dataDir, QueuesFile)
	}
	b, err := queue.Open(queue.Options{Path: path, Logger: s.log.With("component", "queue")})
	if err != nil {
		return fmt.Errorf("queues: %w", err)
	}
	s.queues = b
	s.closers = append(s.closers, b.Close)
	s.bus.AddDeadLetterSource(queue.DeadLetters{B: b})
	return nil
}

// WorkerQueueName is devstack's name of a service's own queue.
func WorkerQueueName(svc, queue string) string { return svc + "-" + queue }

// Tags of devstack's queues, as tools/cdkapp and platform/infra tag them on AWS, so
// tools/redrive finds a service's dead-letter queues here too (stage "local").
const (
	tagService    = "concertsys:service"
	tagStage      = "concertsys:stage"
	tagDeadLetter = "concertsys:dead-letter"
	// Stage is devstack's stage in those tags.
	Stage = "local"
)

// newConsumedQueue creates a queue a function of service svc reads, with its
// dead-letter queue, as platform/infra deploys one.
func (s *Stack) newConsumedQueue(svc, name, label string, maxReceiveCount int) (*queue.Queue, error) {
	if maxReceiveCount <= 0 {
		maxReceiveCount = subscription.DefaultMaxAttempts
	}
	dlq, err := s.queues.CreateQueue(queue.Config{
		Name: name + DeadLetterQueueSuffix, Retention: min(s.deadLetterRetention, queue.MaxRetention),
		Tags: map[string]string{tagService: svc, tagStage: Stage, tagDeadLetter: "true"},
	})
	if err != nil {
		return nil, err
	}
	visibility := time.Duration(float64(VisibilityTimeoutFactor*ConsumerTimeout) * s.timeScale)
	tracer := busTracer{inspect: s.inspect}
	return s.queues.CreateQueue(queue.Config{
		Name: name, VisibilityTimeout: max(visibility, time.Millisecond), Retention: queue.MaxRetention,
		DeadLetter: dlq.Name(), MaxReceiveCount: min(maxReceiveCount, queue.MaxReceiveCountLimit), Label: label,
		Tags:         map[string]string{tagService: svc, tagStage: Stage},
		OnDeadLetter: func(m queue.Message) { tracer.queueDeadLettered(label, m) },
	})
}

// startMapping starts the event source mapping from q to the function named name.
func (s *Stack) startMapping(q *queue.Queue, name string, handler any, batchSize int, explain func(string) string) error {
	fn := lambdainvoke.New(name, lambdainvoke.ARN(Region, Account, name), handler, ConsumerTimeout).WithFaults(s.faults)
	m, err := queue.StartMapping(queue.MappingConfig{
		Queue: q, Function: fn, BatchSize: batchSize, Pollers: WorkersPerRule, QueueARN: QueueARN(q.Name()), Region: Region,
		Logger: s.log.With("component", "esm", "function", name), Explain: explain,
	})
	if err != nil {
		return err
	}
	s.mappings = append(s.mappings, m)
	return nil
}

// startWorker starts the mapping of a service's queue worker (its queue was made
// while the service was built, which sends to it).
func (s *Stack) startWorker(svc string, w service.QueueWorker) error {
	q, err := s.queues.Queue(WorkerQueueName(svc, w.Queue))
	if err != nil {
		return fmt.Errorf("queue worker %s: %w", w.Function, err)
	}
	// One batch per invocation, as platform/infra's NewWorkerQueue maps it.
	return s.startMapping(q, w.Function, w.Handler, 1, nil)
}

// subscribeThroughQueue creates c's queue and dead-letter queue, subscribes the bus
// rule with a target that sends into the queue, and starts the event source mapping.
func (s *Stack) subscribeThroughQueue(svc string, c service.Consumer) error {
	sub := c.Subscription
	q, err := s.newConsumedQueue(svc, sub.Name, sub.Name, sub.MaxAttempts)
	if err != nil {
		return err
	}
	if err := s.bus.SubscribeRaw(sub, sendTo(q), QueueARN(q.Name())); err != nil {
		return err
	}
	if s.inspect != nil {
		s.inspect.queued(sub.Name)
	}
	target := func(ctx context.Context, ev events.EventBridgeEvent) error {
		err := c.Handler(ctx, ev)
		if s.inspect != nil {
			s.inspect.consumed(sub.Name, err)
		}
		return err
	}
	notes := newFailureNotes(maxFailureNotes)
	handler := queueconsumer.NewReporting(target, s.log.With("function", c.Function), notes.record)
	return s.startMapping(q, c.Function, handler, queue.MaxReceiveBatch, notes.take)
}

// maxFailureNotes bounds the failure notes a consumer's mapping holds between its
// function's answer and the mapping reading them (a note is taken at once; the bound
// only matters if that ever stops, and then a dead letter shows the generic reason).
const maxFailureNotes = 10_000

// failureNotes carries why a consumer failed a message from the handler to its event
// source mapping: the SQS answer names only message IDs, and a dead letter should
// show its last error.
type failureNotes struct {
	mu    sync.Mutex
	max   int
	notes map[string]string
}

func newFailureNotes(max int) *failureNotes {
	return &failureNotes{max: max, notes: map[string]string{}}
}

func (n *failureNotes) record(messageID string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.notes[messageID]; ok || len(n.notes) < n.max {
		n.notes[messageID] = err.Error()
	}
}

func (n *failureNotes) take(messageID string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	note := n.notes[messageID]
	delete(n.notes, messageID)
	return note
}

// sendTo is a rule target putting the event into q as EventBridge's SQS target does:
// the whole event as the message body. The bus hands over the event's stored JSON,
// the same bytes json.Marshal makes of the decoded event, so nothing is decoded and
// encoded again per delivery. A full queue fails the delivery, so the bus retries it
// and, past the retry policy, dead-letters it.
func sendTo(q *queue.Queue) bus.RawTarget {
	return func(ctx context.Context, event []byte) error {
		// EventBridge passes the delivery's trace to an SQS target as AWSTraceHeader.
		if _, err := q.SendTraced(string(event), tracing.XRayHeader(ctx)); err != nil {
			return fmt.Errorf("send to queue %s: %w", q.Name(), err)
		}
		return nil
	}
}

// closeMappings stops the event source mappings, waiting for the batches in flight.
func (s *Stack) closeMappings(ctx context.Context) error {
	var errs []error
	for _, m := range s.mappings {
		errs = append(errs, m.Close(ctx))
	}
	return errors.Join(errs...)
}
