// Package infra is the projections service's CDK stack: the read-model table with the
// GSI its list query uses, the consumer behind a rule generated from its Go
// subscription, the public query routes, the rebuild job (a replay of the bus archive
// to the consumer's rule) and PutEvents on the bus only. It has no access to any other
// service's table.
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

// ReplayNamePrefix starts the name of every replay the rebuild job starts; its role
// may describe only those replays.
const ReplayNamePrefix = "projections-rebuild-"

// consumerTimeout bounds one batch of the consumer (each view change is a PutEvents);
// its queue's visibility timeout is six times it.
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
		// The read model is rebuilt from a replay of the bus archive at will.
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
			projections.EnvEventBusName: *shared.BusName(),
		}, 0, consumerTimeout)
		s.Views.GrantReadWriteData(fn.Role)
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
	// The platform stack names the bus's archive <bus>-archive.
	archiveArn := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("events"), Resource: jsii.String("archive"),
		ResourceName: awscdk.Fn_Join(jsii.String(""), &[]*string{shared.BusName(), jsii.String("-archive")})})
	replayArn := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("events"), Resource: jsii.String("replay"),
		ResourceName: jsii.String(ReplayNamePrefix + "*")})
	for _, j := range svc.Jobs {
		// Invoked by hand (aws lambda invoke): replays the bus archive to the consumer's
		// rule and follows the replay; the consumer applies the events. It touches no
		// table: the views move forward through the consumer only.
		fn := newFn(j.Function, map[string]string{
			projections.EnvArchiveARN: *archiveArn,
			projections.EnvBusARN:     *shared.BusArn(),
			projections.EnvRuleARN:    *s.Subscribers[projections.FunctionProjectConcerts].Rule.AttrArn(),
		}, 0, 15*time.Minute)
		// StartReplay is authorized on the archive, DescribeReplay on the replay; IAM
		// has no condition key on a replay's destination rules (FilterArns).
		fn.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ReplayBusArchive"), Actions: jsii.Strings("events:StartReplay"), Resources: &[]*string{archiveArn},
		}))
		fn.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("FollowOwnReplays"), Actions: jsii.Strings("events:DescribeReplay"), Resources: &[]*string{replayArn},
		}))
	}
	platforminfra.Suppress(stack, platforminfra.Suppression{
		ID:           "AwsSolutions-IAM5",
		Reason:       "the rebuild job names its replays at run time (" + ReplayNamePrefix + "<time>) and may describe only those",
		OnlyMatching: []string{`^Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:replay\/` + ReplayNamePrefix + `\*$`},
	})
	platforminfra.Suppress(stack, platforminfra.Suppression{
		ID:           "AwsSolutions-IAM5",
		Reason:       "the views table grants cover its byStatus index (<table>/index/*), which the list query reads",
		OnlyMatching: []string{`^Resource::<Views[0-9A-F]{8}\.Arn>\/index\/\*$`},
	})
	return s, nil
}
