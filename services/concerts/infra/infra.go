// Package infra is the concerts service's CDK stack: the event log and idempotency
// tables, the command and query Lambdas on the shared HTTP API, the enricher and the
// EventBridge Pipe from the log's stream to the bus.
package infra

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/concertsys/platform/eventlog"
	platforminfra "github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/service"

	"github.com/concertsys/services/concerts"
)

// Actions the command functions may take on the event log: append (a put conditional
// on the key not existing, also inside TransactWriteItems) and read an aggregate's
// stream. Never UpdateItem, DeleteItem or BatchWriteItem: the log is append-only.
var (
	LogAppendActions = []string{"dynamodb:PutItem", "dynamodb:ConditionCheckItem"}
	LogReadActions   = []string{"dynamodb:GetItem", "dynamodb:Query"}
	LogWriteActions  = append(append([]string{}, LogAppendActions...), LogReadActions...)
	// SnapshotActions are the command role's only rights on the snapshot table.
	SnapshotActions = []string{"dynamodb:GetItem", "dynamodb:PutItem"}
)

// LogAttributes are the only top-level attributes an append may write: the event
// record's (dynamodb:Attributes).
var LogAttributes = []string{
	eventlog.AttrAggregateID, eventlog.AttrVersion, eventlog.AttrCreated, eventlog.AttrEventType, eventlog.AttrData,
	eventlog.AttrEventID, eventlog.AttrSchemaVersion, eventlog.AttrCorrelationID, eventlog.AttrCausationID,
	eventlog.AttrTraceParent,
}

// AppendConditions are the IAM conditions on the write role's appends. IAM has no
// condition key on a request's ConditionExpression, so no policy can stop a PutItem
// from replacing an existing event: the writer's code always sends
// attribute_not_exists, and the tamper alarm on the log's stream is the control that
// catches a replaced or removed item. What IAM can enforce is narrower: an append
// writes only the event record's attributes (dynamodb:Attributes), so the role cannot
// put anything but events into the log. (A dynamodb:ReturnValues condition would add
// nothing: the role may GetItem the log anyway.)
func AppendConditions() map[string]any {
	return map[string]any{
		"ForAllValues:StringEquals": map[string]any{"dynamodb:Attributes": LogAttributes},
	}
}

// Stack is the concerts stack.
type Stack struct {
	awscdk.Stack
	EventLog    awsdynamodb.Table
	Idempotency awsdynamodb.Table
	// Snapshots holds the latest snapshot of each concert. It is a table of its own, with
	// no stream: a snapshot item in the event log's table would be an INSERT on its
	// stream, which the Pipe forwards to the bus.
	Snapshots awsdynamodb.Table
	// CommandRole is the one role of every command (write) function.
	CommandRole awsiam.Role
	Functions   map[string]*platforminfra.Function
	Pipe        *platforminfra.EventLogPipe
	// Tamper alarms on any MODIFY or REMOVE record of the event log's stream.
	Tamper *platforminfra.TamperAlarm
}

// NewStack creates the concerts stack from concerts.Describe().
func NewStack(scope constructs.Construct, id string, props platforminfra.StackProps) (*Stack, error) {
	stack, shared := platforminfra.NewServiceStack(scope, id, props, "concertsys concerts service: event log, commands, pipe to the bus")
	stage := shared.Stage
	svc := concerts.Describe()
	s := &Stack{Stack: stack, Functions: map[string]*platforminfra.Function{}}

	// The event log, exactly as the design's record: one item per event.
	s.EventLog = awsdynamodb.NewTable(stack, jsii.String("EventLog"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(eventlog.AttrAggregateID), Type: awsdynamodb.AttributeType_STRING},
		SortKey:                          &awsdynamodb.Attribute{Name: jsii.String(eventlog.AttrVersion), Type: awsdynamodb.AttributeType_NUMBER},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Stream:                           awsdynamodb.StreamViewType_NEW_IMAGE,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		DeletionProtection:               jsii.Bool(true),
		RemovalPolicy:                    awscdk.RemovalPolicy_RETAIN,
	})
	s.Idempotency = awsdynamodb.NewTable(stack, jsii.String("Idempotency"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(concerts.IdempotencyKeyAttribute), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute:              jsii.String(concerts.IdempotencyTTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		RemovalPolicy:                    awscdk.RemovalPolicy_DESTROY, // remembered responses expire anyway
	})

	s.Snapshots = awsdynamodb.NewTable(stack, jsii.String("Snapshots"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(concerts.SnapshotKeyAttribute), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		RemovalPolicy:                    awscdk.RemovalPolicy_DESTROY, // a cache of the log's fold: rebuilt from the log
	})

	platforminfra.SkipCheckov(s.EventLog, platforminfra.SkipDynamoDBCMK)
	platforminfra.SkipCheckov(s.Idempotency, platforminfra.SkipDynamoDBCMK)
	platforminfra.SkipCheckov(s.Snapshots, platforminfra.SkipDynamoDBCMK)

	s.CommandRole = platforminfra.NewLambdaRole(stack, "CommandRole")
	conditions := AppendConditions()
	s.CommandRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AppendToEventLog"),
		Actions:    jsii.Strings(LogAppendActions...),
		Resources:  &[]*string{s.EventLog.TableArn()},
		Conditions: &conditions,
	}))
	// Reading an aggregate's stream to decide a command (and to confirm an append
	// whose response was lost).
	s.CommandRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadEventLog"),
		Actions:   jsii.Strings(LogReadActions...),
		Resources: &[]*string{s.EventLog.TableArn()},
	}))
	s.Idempotency.GrantReadWriteData(s.CommandRole)
	// Snapshots: read the latest, put a newer one (conditional). Nothing else.
	s.CommandRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadWriteSnapshots"),
		Actions:   jsii.Strings(SnapshotActions...),
		Resources: &[]*string{s.Snapshots.TableArn()},
	}))

	env := map[string]string{
		concerts.EnvEventLogTable:    *s.EventLog.TableName(),
		concerts.EnvIdempotencyTable: *s.Idempotency.TableName(),
		concerts.EnvSnapshotTable:    *s.Snapshots.TableName(),
	}
	for _, r := range svc.HTTPRoutes {
		fp := platforminfra.FunctionProps{Service: svc.Name, Name: r.Function, AssetDir: props.AssetDir, Environment: env}
		if r.Access == service.Organizers {
			fp.Role = s.CommandRole
		}
		fn := platforminfra.NewFunction(stack, "Fn-"+r.Function, fp)
		if r.Access != service.Organizers {
			fn.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ReadEventLog"),
				Actions:   jsii.Strings(LogReadActions...),
				Resources: &[]*string{s.EventLog.TableArn()},
			}))
		}
		s.Functions[r.Function] = fn
		if _, err := platforminfra.NewHTTPRoute(stack, "Route-"+r.Function, shared, r, fn.Function); err != nil {
			return nil, fmt.Errorf("concerts stack: %w", err)
		}
	}
	if len(svc.Enrichers) != 1 {
		return nil, fmt.Errorf("concerts stack: want one enricher, got %d", len(svc.Enrichers))
	}
	enricher := platforminfra.NewFunction(stack, "Fn-"+svc.Enrichers[0].Function, platforminfra.FunctionProps{
		Service: svc.Name, Name: svc.Enrichers[0].Function, AssetDir: props.AssetDir,
	})
	s.Functions[svc.Enrichers[0].Function] = enricher

	// TRIM_HORIZON: the pipe may start after the first writes (the routes go live in
	// parallel with it); a replayed record is a duplicate consumers already tolerate,
	// a skipped one would be lost.
	pipe, err := platforminfra.NewEventLogPipe(stack, "EventLogPipe", platforminfra.EventLogPipeProps{
		Table: s.EventLog, Enricher: enricher.Function, BusArn: shared.BusArn(), Source: svc.Name,
		BatchSize: platforminfra.DefaultPipeBatchSize, StartingPosition: platforminfra.StartingPositionTrimHorizon,
	})
	if err != nil {
		return nil, fmt.Errorf("concerts stack: %w", err)
	}
	s.Pipe = pipe
	// The log is append-only: a changed or removed item means history was rewritten.
	s.Tamper = platforminfra.NewTamperAlarm(stack, "EventLogTamper", s.EventLog, "concerts event log")

	platforminfra.Publish(stack, stage, platforminfra.ParamEventLogTableName, s.EventLog.TableName())
	platforminfra.Publish(stack, stage, platforminfra.ParamEventLogTableArn, s.EventLog.TableArn())
	return s, nil
}
