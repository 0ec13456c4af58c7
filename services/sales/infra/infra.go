// Package infra is the sales service's CDK stack: its table, the consumer behind a
// rule generated from its Go subscription, the public query route, and the catch-up
// job, which may only start and follow replays of the bus archive (to this rule).
package infra

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	platforminfra "github.com/concertsys/platform/infra"

	sales "github.com/concertsys/services/sales"
)

// StackName is the stack's name in the CDK app (cdk deploy SalesStack).
const StackName = "SalesStack"

// consumerTimeout bounds one batch of the consumer; its queue's visibility timeout is
// platforminfra.VisibilityTimeoutFactor times it.
const consumerTimeout = 30 * time.Second

// Stack is the sales stack.
type Stack struct {
	awscdk.Stack
	Table       awsdynamodb.Table
	Functions   map[string]*platforminfra.Function
	Subscribers map[string]*platforminfra.Subscriber
}

// ArchiveName is the bus archive of the stage (the platform stack creates it).
func ArchiveName(stage string) string { return "concertsys-" + stage + "-archive" }

// NewStack creates the sales stack from sales.Describe().
func NewStack(scope constructs.Construct, id string, props platforminfra.StackProps) (*Stack, error) {
	stack, shared := platforminfra.NewServiceStack(scope, id, props, "concertsys sales service: consumer, query API, catch-up by replay")
	stage := shared.Stage
	svc := sales.Describe()
	s := &Stack{Stack: stack, Functions: map[string]*platforminfra.Function{}, Subscribers: map[string]*platforminfra.Subscriber{}}

	str := awsdynamodb.AttributeType_STRING
	s.Table = awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String("Id"), Type: str},
		SortKey:                          &awsdynamodb.Attribute{Name: jsii.String("Key"), Type: str},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		// Rebuilt from the archive by the catch-up job at will.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	platforminfra.SkipCheckov(s.Table, platforminfra.SkipDynamoDBCMK)

	newFn := func(name string, env map[string]string, timeout time.Duration) *platforminfra.Function {
		env[sales.EnvTable] = *s.Table.TableName()
		fn := platforminfra.NewFunction(stack, "Fn-"+name, platforminfra.FunctionProps{
			Service: svc.Name, Name: name, AssetDir: props.AssetDir, Environment: env, Timeout: timeout,
		})
		s.Functions[name] = fn
		return fn
	}
	for _, r := range svc.HTTPRoutes {
		fn := newFn(r.Function, map[string]string{}, 0)
		s.Table.GrantReadData(fn.Role)
		if _, err := platforminfra.NewHTTPRoute(stack, "Route-"+r.Function, shared, r, fn.Function); err != nil {
			return nil, fmt.Errorf("sales stack: %w", err)
		}
	}
	for _, c := range svc.Consumers {
		fn := newFn(c.Function, map[string]string{}, consumerTimeout)
		s.Table.GrantReadWriteData(fn.Role)
		sub, err := platforminfra.NewSubscriber(stack, "Sub-"+c.Function, platforminfra.SubscriberProps{
			Subscription: c.Subscription, BusName: shared.BusName(), Function: fn.Function, FunctionTimeout: consumerTimeout,
		})
		if err != nil {
			return nil, fmt.Errorf("sales stack: %w", err)
		}
		s.Subscribers[c.Function] = sub
	}
	rule := s.Subscribers[sales.FunctionRecord].Rule.AttrArn()
	archive := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("events"), Resource: jsii.String("archive"), ResourceName: jsii.String(ArchiveName(stage))})
	replays := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("events"), Resource: jsii.String("replay"), ResourceName: jsii.String(svc.Name + "-catch-up-*")})
	for _, j := range svc.Jobs {
		// Invoked once after the first deploy (make catch-up SERVICE=sales).
		fn := newFn(j.Function, map[string]string{
			sales.EnvArchiveARN: *archive, sales.EnvBusARN: *shared.BusArn(), sales.EnvRuleARN: *rule,
		}, time.Minute)
		s.Table.GrantReadWriteData(fn.Role)
		fn.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("StartCatchUpReplay"), Actions: jsii.Strings("events:StartReplay"), Resources: &[]*string{archive},
		}))
		fn.Role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("FollowCatchUpReplay"), Actions: jsii.Strings("events:DescribeReplay"), Resources: &[]*string{replays},
		}))
	}
	platforminfra.Suppress(stack, platforminfra.Suppression{
		ID:           "AwsSolutions-IAM5",
		Reason:       "the catch-up job follows the replays it starts, named <service>-catch-up-<time>; their names are known at run time only",
		OnlyMatching: []string{`^Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:replay\/sales-catch-up-\*$`},
	})
	return s, nil
}
