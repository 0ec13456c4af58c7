package infra

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
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

// SubscriberProps are a Go-declared subscription and the function it delivers to.
type SubscriberProps struct {
	Subscription subscription.Subscription
	// BusName is the name of the shared bus (Shared.BusName: from SSM).
	BusName  *string
	Function awslambda.IFunction
}

// Subscriber is a rule on the shared bus with exactly the subscription's pattern, a
// Lambda target with the subscription's retry policy, and a dead-letter queue (with
// its alarm) for events that exhaust it.
type Subscriber struct {
	constructs.Construct
	Rule       awsevents.CfnRule
	DeadLetter *DeadLetterQueue
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

// NewSubscriber creates the rule, target permission and dead-letter queue. The
// pattern must be a JSON object; it is deployed verbatim.
func NewSubscriber(scope constructs.Construct, id string, props SubscriberProps) (*Subscriber, error) {
	var pattern map[string]any
	if err := json.Unmarshal(props.Subscription.Pattern, &pattern); err != nil {
		return nil, fmt.Errorf("subscription %s: pattern: %w", props.Subscription.Name, err)
	}
	if props.Subscription.Name == "" {
		return nil, fmt.Errorf("subscription without a name")
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	dlq := NewDeadLetterQueue(c, "DeadLetter", "events rule "+props.Subscription.Name)
	retries, age := RetryPolicy(props.Subscription)
	rule := awsevents.NewCfnRule(c, jsii.String("Rule"), &awsevents.CfnRuleProps{
		Name:         jsii.String(props.Subscription.Name),
		Description:  jsii.String("Go-declared subscription " + props.Subscription.Name),
		EventBusName: props.BusName,
		EventPattern: pattern,
		State:        jsii.String("ENABLED"),
		Targets: &[]*awsevents.CfnRule_TargetProperty{{
			Id:  jsii.String("Function"),
			Arn: props.Function.FunctionArn(),
			RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
				MaximumRetryAttempts:     jsii.Number(float64(retries)),
				MaximumEventAgeInSeconds: jsii.Number(float64(age)),
			},
			DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: dlq.Queue.QueueArn()},
		}},
	})
	props.Function.AddPermission(jsii.String("Invoke-"+props.Subscription.Name), &awslambda.Permission{
		Principal: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		Action:    jsii.String("lambda:InvokeFunction"),
		SourceArn: rule.AttrArn(),
	})
	dlq.Queue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("RuleDeadLetters"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  jsii.Strings(*dlq.Queue.QueueArn()),
		Conditions: &map[string]interface{}{"ArnEquals": map[string]interface{}{"aws:SourceArn": rule.AttrArn()}},
	}))
	awscdk.Tags_Of(c).Add(jsii.String("concertsys:subscription"), jsii.String(props.Subscription.Name), nil)
	return &Subscriber{Construct: c, Rule: rule, DeadLetter: dlq}, nil
}
