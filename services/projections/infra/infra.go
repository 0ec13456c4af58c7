// Package infra is the projections service's CDK stack: the read-model table with the
// GSI its list query uses, the consumer behind a rule generated from its Go
// subscription, the public query routes, the rebuild job, read access to the concerts
// event log (gap fill, rebuild) and PutEvents on the bus only.
package infra

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	platforminfra "github.com/concertsys/platform/infra"

	projections "github.com/concertsys/services/projections"
	"github.com/concertsys/services/projections/internal/adapters/dynamoviews"
)

// EventLogReadActions are what the consumer may do on the concerts event log: read one
// aggregate's events to fill a gap (GetItem, Query). Never Scan: a consumer reads the
// aggregates its events name, not the whole history.
var EventLogReadActions = []string{"dynamodb:GetItem", "dynamodb:Query"}

// EventLogRebuildActions are the rebuild job's: it recomputes every view, and the log
// has no index of its aggregates, so it walks the table with a paginated Scan (besides
// the gap-fill reads). Only the rebuild job, invoked by hand, gets Scan.
var EventLogRebuildActions = append(append([]string{}, EventLogReadActions...), "dynamodb:Scan")

// consumerTimeout bounds one batch of the consumer (gap fill reads the log, each view
// change is a PutEvents); its queue's visibility timeout is six times it.
const consumerTimeout = 30 * time.Second

// Stack is the projections stack.
type Stack struct {
	awscdk.Stack
	Views       awsdynamodb.Table
	CursorKey   awssecretsmanager.Secret
	Functions   map[string]*platforminfra.Function
	Subscribers map[string]*platforminfra.Subscriber
}

// NewStack creates the projections stack from projections.Describe().
func NewStack(scope constructs.Construct, id string, props platforminfra.StackProps) (*Stack, error) {
	stack, shared := platforminfra.NewServiceStack(scope, id, props, "concertsys projections service: read model, consumer, query API")
	stage := shared.Stage
	svc := projections.Describe()
	s := &Stack{Stack: stack, Functions: map[string]*platforminfra.Function{}, Subscribers: map[string]*platforminfra.Subscriber{}}

	str := awsdynamodb.AttributeType_STRING
	s.Views = awsdynamodb.NewTable(stack, jsii.String("Views"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(dynamoviews.AttrID), Type: str},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		// The read model is rebuilt from the event log at will.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	s.Views.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(dynamoviews.IndexByStatus),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(dynamoviews.AttrStatus), Type: str},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(dynamoviews.AttrPosition), Type: str},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})

	platforminfra.SkipCheckov(s.Views, platforminfra.SkipDynamoDBCMK)

	// The list cursor signing key: a generated secret that the list function reads at
	// init through Secrets Manager; its environment carries only the secret's ARN.
	s.CursorKey = awssecretsmanager.NewSecret(stack, jsii.String("CursorKey"), &awssecretsmanager.SecretProps{
		Description: jsii.String("projections " + stage + ": HMAC key of list cursors"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(64), ExcludePunctuation: jsii.Bool(true),
		},
	})
	platforminfra.SkipCheckov(s.CursorKey, platforminfra.SkipSecretCMK)
	platforminfra.Suppress(s.CursorKey, platforminfra.Suppression{
		ID:     "AwsSolutions-SMG4",
		Reason: "rotating the cursor key only invalidates outstanding list cursors; it is rotated by redeploying with a new secret when needed",
	})

	logName := platforminfra.FromParameter(stack, stage, platforminfra.ParamEventLogTableName)
	logArn := platforminfra.FromParameter(stack, stage, platforminfra.ParamEventLogTableArn)
	readLog := func(fn *platforminfra.Function, actions []string) {
		fn.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ReadConcertsEventLog"), Actions: jsii.Strings(actions...), Resources: &[]*string{logArn},
		}))
	}
	views := *s.Views.TableName()
	newFn := func(name string, env map[string]string, memory int, timeout time.Duration) *platforminfra.Function {
		env[projections.EnvViewsTable] = views
		fn := platforminfra.NewFunction(stack, "Fn-"+name, platforminfra.FunctionProps{
			Service: svc.Name, Name: name, AssetDir: props.AssetDir, Environment: env, MemoryMB: memory, Timeout: timeout,
		})
		s.Functions[name] = fn
		return fn
	}

	for _, r := range svc.HTTPRoutes {
		env := map[string]string{}
		if r.Function == projections.FunctionListConcerts {
			env[projections.EnvCursorKeySecret] = *s.CursorKey.SecretArn()
		}
		fn := newFn(r.Function, env, 0, 0)
		s.Views.GrantReadData(fn.Role)
		if r.Function == projections.FunctionListConcerts {
			// The list function signs and checks cursors: it reads that one secret at init.
			fn.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("ReadCursorKey"), Actions: jsii.Strings("secretsmanager:GetSecretValue"),
				Resources: &[]*string{s.CursorKey.SecretArn()},
			}))
		}
		if _, err := platforminfra.NewHTTPRoute(stack, "Route-"+r.Function, shared, r, fn.Function); err != nil {
			return nil, fmt.Errorf("projections stack: %w", err)
		}
	}
	for _, c := range svc.Consumers {
		fn := newFn(c.Function, map[string]string{
			projections.EnvEventLogTable: *logName,
			projections.EnvEventBusName:  *shared.BusName(),
		}, 0, consumerTimeout)
		s.Views.GrantReadWriteData(fn.Role)
		readLog(fn, EventLogReadActions)
		// The consumer publishes ConcertViewUpdated on the shared bus, as source
		// "projections" only: it cannot forge the concerts service's events.
		fn.Role.AddToPrincipalPolicy(platforminfra.PutEventsAs(shared.BusArn(), svc.Name))
		sub, err := platforminfra.NewSubscriber(stack, "Sub-"+c.Function, platforminfra.SubscriberProps{
			Subscription: c.Subscription, BusName: shared.BusName(), Function: fn.Function, FunctionTimeout: consumerTimeout,
		})
		if err != nil {
			return nil, fmt.Errorf("projections stack: %w", err)
		}
		s.Subscribers[c.Function] = sub
	}
	for _, j := range svc.Jobs {
		// Invoked by hand (aws lambda invoke) to recompute every view from the log.
		fn := newFn(j.Function, map[string]string{projections.EnvEventLogTable: *logName}, 1024, 15*time.Minute)
		s.Views.GrantReadWriteData(fn.Role)
		readLog(fn, EventLogRebuildActions)
	}
	platforminfra.Suppress(stack, platforminfra.Suppression{
		ID:           "AwsSolutions-IAM5",
		Reason:       "the views table grants cover its byStatus index (<table>/index/*), which the list query reads",
		OnlyMatching: []string{`^Resource::<Views[0-9A-F]{8}\.Arn>\/index\/\*$`},
	})
	return s, nil
}
