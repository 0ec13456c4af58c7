package infra

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/concertsys/platform/subscription"
)

// Bounds EventBridge puts on a target's retry policy.
const (
	maxRetryAttempts = 185
	minEventAge      = time.Minute
	maxEventAge      = 24 * time.Hour
)

// Sizing of a subscription's queue and event source mapping.
const (
	// VisibilityTimeoutFactor times the function timeout is the queue's visibility
	// timeout: AWS recommends at least six times the function timeout for an SQS event
	// source mapping, so a message is not received again while a batch (with Lambda's
	// own retries of throttled invocations) may still be running.
	VisibilityTimeoutFactor = 6
	// QueueBatchSize is the mapping's batch size: the messages one invocation gets.
	QueueBatchSize = 10
	// maxVisibilityTimeout is SQS's limit (12 hours).
	maxVisibilityTimeout = 12 * time.Hour
	// maxReceiveCountLimit is the redrive policy's upper bound.
	maxReceiveCountLimit = 1000
)

// SubscriberProps are a Go-declared subscription and the function it delivers to.
type SubscriberProps struct {
	Subscription subscription.Subscription
	// BusName is the name of the shared bus (Shared.BusName: from SSM).
	BusName  *string
	Function awslambda.IFunction
	// FunctionTimeout is Function's timeout (0: DefaultTimeout); the queue's visibility
	// timeout is VisibilityTimeoutFactor times it.
	FunctionTimeout time.Duration
}

// Subscriber is a rule on the shared bus with exactly the subscription's pattern whose
// target is the subscription's SQS queue (retry policy of the subscription for getting
// the event into it), and a Lambda event source mapping from that queue to the
// function with ReportBatchItemFailures: an event the function fails on stays in the
// queue and is received again after the visibility timeout, MaxReceiveCount times,
// then moves to the dead-letter queue (with its alarm). Events the rule could not put
// into the queue land in the same dead-letter queue, as the same event JSON, so one
// redrive (StartMessageMoveTask back to the queue) covers both. Nothing is dropped.
type Subscriber struct {
	constructs.Construct
	Rule       awsevents.CfnRule
	Queue      awssqs.Queue
	DeadLetter *DeadLetterQueue
	Mapping    awslambda.EventSourceMapping
}

// RetryPolicy is the EventBridge retry policy of s (MaximumRetryAttempts,
// MaximumEventAgeInSeconds), defaults applied and clamped to EventBridge's limits.
func RetryPolicy(s subscription.Subscription) (retries int, maxAgeSeconds int) {
	attempts, age := s.MaxAttempts, s.MaxEventAge
	if attempts <= 0 {
		attempts = subscription.DefaultMaxAttempts
	}
	if age <= 0 {
		age = subscription.DefaultMaxEventAge
	}
	age = min(max(age, minEventAge), maxEventAge)
	return min(attempts-1, maxRetryAttempts), int(age / time.Second)
}

// MaxReceiveCount is the redrive policy of s's queue: the function gets each event at
// most this many times before it moves to the dead-letter queue (s.MaxAttempts,
// default subscription.DefaultMaxAttempts, within SQS's 1..1000).
func MaxReceiveCount(s subscription.Subscription) int {
	n := s.MaxAttempts
	if n <= 0 {
		n = subscription.DefaultMaxAttempts
	}
	return min(n, maxReceiveCountLimit)
}

// VisibilityTimeout is the visibility timeout of the queue feeding a function with
// timeout functionTimeout (0: DefaultTimeout).
func VisibilityTimeout(functionTimeout time.Duration) time.Duration {
	if functionTimeout <= 0 {
		functionTimeout = DefaultTimeout
	}
	return min(VisibilityTimeoutFactor*functionTimeout, maxVisibilityTimeout)
}

// NewSubscriber creates the rule, the queue with its dead-letter queue, the queue
// policy and the event source mapping. The pattern must be a JSON object; it is
// deployed verbatim.
func NewSubscriber(scope constructs.Construct, id string, props SubscriberProps) (*Subscriber, error) {
	var pattern map[string]any
	if err := json.Unmarshal(props.Subscription.Pattern, &pattern); err != nil {
		return nil, fmt.Errorf("subscription %s: pattern: %w", props.Subscription.Name, err)
	}
	if props.Subscription.Name == "" {
		return nil, fmt.Errorf("subscription without a name")
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	queue, dlq := newConsumedQueue(c, "subscription "+props.Subscription.Name+" (rule and queue)", props.FunctionTimeout, MaxReceiveCount(props.Subscription))
	retries, age := RetryPolicy(props.Subscription)
	rule := awsevents.NewCfnRule(c, jsii.String("Rule"), &awsevents.CfnRuleProps{
		Name:         jsii.String(props.Subscription.Name),
		Description:  jsii.String("Go-declared subscription " + props.Subscription.Name),
		EventBusName: props.BusName,
		EventPattern: pattern,
		State:        jsii.String("ENABLED"),
		Targets: &[]*awsevents.CfnRule_TargetProperty{{
			Id:  jsii.String("Queue"),
			Arn: queue.QueueArn(),
			RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
				MaximumRetryAttempts:     jsii.Number(float64(retries)),
				MaximumEventAgeInSeconds: jsii.Number(float64(age)),
			},
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: dlq.Queue.QueueArn()},
		}},
	})
	// Only this rule may send to the queue and to its dead-letter queue.
	for sid, q := range map[string]awssqs.Queue{"RuleDeliveries": queue, "RuleDeadLetters": dlq.Queue} {
		q.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
			Actions:    jsii.Strings("sqs:SendMessage"),
			Resources:  jsii.Strings(*q.QueueArn()),
			Conditions: &map[string]interface{}{"ArnEquals": map[string]interface{}{"aws:SourceArn": rule.AttrArn()}},
		}))
	}
	mapping := newQueueMapping(c, queue, props.Function, QueueBatchSize)
	awscdk.Tags_Of(c).Add(jsii.String("concertsys:subscription"), jsii.String(props.Subscription.Name), nil)
	return &Subscriber{Construct: c, Rule: rule, Queue: queue, DeadLetter: dlq, Mapping: mapping}, nil
}

// newConsumedQueue is a queue a function consumes: SSE, SSL-only, kept 14 days (as
// long as its dead-letter queue keeps what it moves there), a visibility timeout of
// VisibilityTimeoutFactor times the function timeout and a redrive policy to an
// alarmed dead-letter queue after maxReceiveCount receives.
func newConsumedQueue(c constructs.Construct, what string, functionTimeout time.Duration, maxReceiveCount int) (awssqs.Queue, *DeadLetterQueue) {
	dlq := NewDeadLetterQueue(c, "DeadLetter", what)
	queue := awssqs.NewQueue(c, jsii.String("Queue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(14)),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(VisibilityTimeout(functionTimeout).Seconds())),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq.Queue, MaxReceiveCount: jsii.Number(float64(maxReceiveCount))},
	})
	SkipCheckov(queue, SkipSQSKMS)
	return queue, dlq
}

// newQueueMapping is the event source mapping from queue to fn with
// ReportBatchItemFailures; its grants (ReceiveMessage, DeleteMessage,
// ChangeMessageVisibility, GetQueueAttributes) go to fn's role, on this queue only.
func newQueueMapping(c constructs.Construct, queue awssqs.Queue, fn awslambda.IFunction, batchSize int) awslambda.EventSourceMapping {
	queue.GrantConsumeMessages(fn)
	return awslambda.NewEventSourceMapping(c, jsii.String("Mapping"), &awslambda.EventSourceMappingProps{
		Target:                  fn,
		EventSourceArn:          queue.QueueArn(),
		BatchSize:               jsii.Number(float64(batchSize)),
		ReportBatchItemFailures: jsii.Bool(true),
	})
}

// WorkerQueueProps are a queue a service sends to itself and the function reading it.
type WorkerQueueProps struct {
	// Name says what the queue holds (e.g. "notifications fan-out-batches").
	Name     string
	Function awslambda.IFunction
	// FunctionTimeout is Function's timeout (0: DefaultTimeout).
	FunctionTimeout time.Duration
	// MaxReceiveCount is the receives before the dead-letter queue (0:
	// subscription.DefaultMaxAttempts).
	MaxReceiveCount int
	// BatchSize is the mapping's batch size (0: 1, so each message is one invocation).
	BatchSize int
	// Senders may SendMessage to the queue (granted here).
	Senders []awsiam.IGrantable
}

// WorkerQueue is a queue a service's own functions send to, read by a function
// through an event source mapping with ReportBatchItemFailures, with a dead-letter
// queue and its alarm: work split into messages (e.g. batches of a fan-out) is
// retried message by message and never dropped.
type WorkerQueue struct {
	constructs.Construct
	Queue      awssqs.Queue
	DeadLetter *DeadLetterQueue
	Mapping    awslambda.EventSourceMapping
}

// NewWorkerQueue creates the queue, its dead-letter queue and the mapping.
func NewWorkerQueue(scope constructs.Construct, id string, props WorkerQueueProps) *WorkerQueue {
	c := constructs.NewConstruct(scope, jsii.String(id))
	receives := props.MaxReceiveCount
	if receives <= 0 {
		receives = subscription.DefaultMaxAttempts
	}
	batch := props.BatchSize
	if batch <= 0 {
		batch = 1
	}
	queue, dlq := newConsumedQueue(c, props.Name, props.FunctionTimeout, min(receives, maxReceiveCountLimit))
	for _, s := range props.Senders {
		queue.GrantSendMessages(s)
	}
	mapping := newQueueMapping(c, queue, props.Function, batch)
	return &WorkerQueue{Construct: c, Queue: queue, DeadLetter: dlq, Mapping: mapping}
}
