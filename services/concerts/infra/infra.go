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

// Actions the command functions may take on the event log: append (conditional put,
// also inside TransactWriteItems), read an aggregate's stream. Never UpdateItem or
// DeleteItem: the log is append-only.
var (
	LogWriteActions = []string{"dynamodb:PutItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query"}
	LogReadActions  = []string{"dynamodb:GetItem", "dynamodb:Query"}
)

// Stack is the concerts stack.
type Stack struct {
	awscdk.Stack
	EventLog    awsdynamodb.Table
	Idempotency awsdynamodb.Table
	// CommandRole is the one role of every command (write) function.
	CommandRole awsiam.Role
	Functions   map[string]*platforminfra.Function
	Pipe        *platforminfra.EventLogPipe
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

	s.CommandRole = platforminfra.NewLambdaRole(stack, "CommandRole")
	s.CommandRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("AppendToEventLog"),
		Actions:   jsii.Strings(LogWriteActions...),
		Resources: &[]*string{s.EventLog.TableArn()},
	}))
	s.Idempotency.GrantReadWriteData(s.CommandRole)

	env := map[string]string{
		concerts.EnvEventLogTable:    *s.EventLog.TableName(),
		concerts.EnvIdempotencyTable: *s.Idempotency.TableName(),
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

	platforminfra.Publish(stack, stage, platforminfra.ParamEventLogTableName, s.EventLog.TableName())
	platforminfra.Publish(stack, stage, platforminfra.ParamEventLogTableArn, s.EventLog.TableArn())
	return s, nil
}
