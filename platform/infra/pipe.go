package infra

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awspipes"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/concertsys/platform/service"
)

// Starting positions of a DynamoDB stream source.
const (
	StartingPositionLatest      = "LATEST"
	StartingPositionTrimHorizon = "TRIM_HORIZON"
)

// Pipe defaults.
const (
	DefaultPipeBatchSize = 10
	// pipeMaxRetries bounds retries of a failing batch before its stream coordinates
	// go to the dead-letter queue; the log keeps the events, so they can be re-sent.
	// devstack's pipe uses the same number.
	pipeMaxRetries = service.PipeMaxRetryAttempts
	// The detail-type of a bus event is the eventType of the enricher's detail.
	detailTypePath = "$.metadata.eventType"
)

// EventLogPipeProps configure the pipe from an event log table's stream to the bus.
type EventLogPipeProps struct {
	// Table is the event log; its stream must include new images.
	Table awsdynamodb.ITable
	// Enricher turns a batch of stream records into bus details.
	Enricher awslambda.IFunction
	// BusArn is the target bus (Shared.BusArn).
	BusArn *string
	// Source is the EventBridge source of the events (the producing service).
	Source string
	// BatchSize is 1..10 (0: DefaultPipeBatchSize).
	BatchSize int
	// StartingPosition is StartingPositionLatest (default) or StartingPositionTrimHorizon.
	StartingPosition string
}

// EventLogPipe is an EventBridge Pipe from the event log's DynamoDB stream (INSERT
// records only) through the enricher to the bus, with a dead-letter queue for
// batches that exhaust their retries and error logs.
type EventLogPipe struct {
	constructs.Construct
	Pipe       awspipes.CfnPipe
	Role       awsiam.Role
	DeadLetter *DeadLetterQueue
}

// InsertOnlyFilter is the pipe's filter: only new events, never changes or removals
// (the log is append-only, so these would be operator mistakes).
const InsertOnlyFilter = `{"eventName":["INSERT"]}`

// NewEventLogPipe creates the pipe and its role.
func NewEventLogPipe(scope constructs.Construct, id string, props EventLogPipeProps) (*EventLogPipe, error) {
	batch := props.BatchSize
	if batch == 0 {
		batch = DefaultPipeBatchSize
	}
	if batch < 1 || batch > 10 {
		return nil, fmt.Errorf("pipe batch size %d: want 1..10", batch)
	}
	start := props.StartingPosition
	if start == "" {
		start = StartingPositionLatest
	}
	if start != StartingPositionLatest && start != StartingPositionTrimHorizon {
		return nil, fmt.Errorf("pipe starting position %q: want %s or %s", start, StartingPositionLatest, StartingPositionTrimHorizon)
	}
	if props.Table.TableStreamArn() == nil {
		return nil, fmt.Errorf("pipe source table has no stream")
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	dlq := NewDeadLetterQueue(c, "DeadLetter", "event log pipe to the bus ("+props.Source+")")
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     DefaultLogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	SkipCheckov(logs, SkipLogGroupKMS)
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("pipes.amazonaws.com"), nil),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"),
		Resources: &[]*string{props.Table.TableStreamArn()},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:ListStreams"),
		Resources: jsii.Strings("*"),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{props.Enricher.FunctionArn()},
	}))
	dlq.Queue.GrantSendMessages(role)
	// The pipe puts the log's events on the bus as their producing service, and only
	// as that service: events:source pins the source it may use.
	role.AddToPrincipalPolicy(PutEventsAs(props.BusArn, props.Source))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	pipe := awspipes.NewCfnPipe(c, jsii.String("Pipe"), &awspipes.CfnPipeProps{
		Description: jsii.String("event log stream of " + props.Source + " to the bus"),
		RoleArn:     role.RoleArn(),
		Source:      props.Table.TableStreamArn(),
		SourceParameters: &awspipes.CfnPipe_PipeSourceParametersProperty{
			DynamoDbStreamParameters: &awspipes.CfnPipe_PipeSourceDynamoDBStreamParametersProperty{
				StartingPosition:               jsii.String(start),
				BatchSize:                      jsii.Number(float64(batch)),
				MaximumBatchingWindowInSeconds: jsii.Number(1),
				MaximumRetryAttempts:           jsii.Number(pipeMaxRetries),
				DeadLetterConfig:               &awspipes.CfnPipe_DeadLetterConfigProperty{Arn: dlq.Queue.QueueArn()},
			},
			FilterCriteria: &awspipes.CfnPipe_FilterCriteriaProperty{
				Filters: &[]*awspipes.CfnPipe_FilterProperty{{Pattern: jsii.String(InsertOnlyFilter)}},
			},
		},
		Enrichment: props.Enricher.FunctionArn(),
		Target:     props.BusArn,
		TargetParameters: &awspipes.CfnPipe_PipeTargetParametersProperty{
			EventBridgeEventBusParameters: &awspipes.CfnPipe_PipeTargetEventBridgeEventBusParametersProperty{
				DetailType: jsii.String(detailTypePath),
				Source:     jsii.String(props.Source),
			},
		},
		// AWS::Pipes::Pipe has no tracing setting (no X-Ray flag among its properties):
		// the trace crosses the Pipe inside the record (TraceParent), its enrichment is
		// a traced function, and its error logs carry the failing payload, traceparent
		// included (IncludeExecutionData), so a broken hop can be found by trace id.
		LogConfiguration: &awspipes.CfnPipe_PipeLogConfigurationProperty{
			IncludeExecutionData:         jsii.Strings("ALL"),
			Level:                        jsii.String("ERROR"),
			CloudwatchLogsLogDestination: &awspipes.CfnPipe_CloudwatchLogsLogDestinationProperty{LogGroupArn: logs.LogGroupArn()},
		},
	})
	Suppress(role, Suppression{
		ID:     "AwsSolutions-IAM5",
		Reason: "dynamodb:ListStreams has no resource-level permissions; the stream read actions are on the one stream ARN",
		Only:   []string{"Resource::*"},
	})
	// The role's policy must exist before the pipe starts polling the stream.
	pipe.Node().AddDependency(role)
	return &EventLogPipe{Construct: c, Pipe: pipe, Role: role, DeadLetter: dlq}, nil
}
