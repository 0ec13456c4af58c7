package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// DeadLetterQueue is an encrypted, SSL-only SQS queue for events that could not be
// delivered, with an alarm as soon as one message is in it.
type DeadLetterQueue struct {
	constructs.Construct
	Queue awssqs.Queue
	Alarm awscloudwatch.Alarm
}

// NewDeadLetterQueue creates the queue; what lands in it is described by what.
func NewDeadLetterQueue(scope constructs.Construct, id, what string) *DeadLetterQueue {
	c := constructs.NewConstruct(scope, jsii.String(id))
	q := awssqs.NewQueue(c, jsii.String("Queue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	Suppress(q, Suppression{
		ID:     "AwsSolutions-SQS3",
		Reason: "this queue is itself a dead-letter queue; its messages are inspected and redriven by hand, never consumed by a retrying consumer",
	})
	SkipCheckov(q, SkipSQSKMS)
	// tools/redrive finds a service's dead-letter queues by this tag (and TagService's).
	awscdk.Tags_Of(q).Add(jsii.String(TagDeadLetter), jsii.String("true"), nil)
	alarm := q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Maximum"),
	}).CreateAlarm(c, jsii.String("Alarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String("dead letters: " + what),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	return &DeadLetterQueue{Construct: c, Queue: q, Alarm: alarm}
}

// Tags tools/redrive finds a service's dead-letter queues by (with the app's
// concertsys:stage tag).
const (
	TagServiceKey = "concertsys:service"
	TagDeadLetter = "concertsys:dead-letter"
	TagStage      = "concertsys:stage"
)

// TagService tags every resource of stack with the service that owns it.
func TagService(stack awscdk.Stack, service string) {
	awscdk.Tags_Of(stack).Add(jsii.String(TagServiceKey), jsii.String(service), nil)
}
