// Package infra is the notifications service's CDK stack: the WebSocket API (routes,
// integrations, throttled stage), the connections table with TTL, the route Lambdas,
// and the fan-out Lambda behind a rule generated from its Go subscription, allowed to
// post to this API's connections only.
package infra

import (
	"fmt"
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	platforminfra "github.com/concertsys/platform/infra"

	"github.com/concertsys/services/notifications"
)

// Stage throttling of the WebSocket API (messages per second, account-wide otherwise).
const (
	wsThrottleRate  = 50
	wsThrottleBurst = 100
)

const wsAccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","routeKey":"$context.routeKey","eventType":"$context.eventType",` +
	`"connectionId":"$context.connectionId","status":"$context.status","integrationError":"$context.integrationErrorMessage"}`

// Stack is the notifications stack.
type Stack struct {
	awscdk.Stack
	Connections awsdynamodb.Table
	API         awsapigatewayv2.CfnApi
	APIStage    awsapigatewayv2.CfnStage
	// ManagementEndpoint is https://{apiId}.execute-api.{region}.amazonaws.com/{stage}.
	ManagementEndpoint *string
	Functions          map[string]*platforminfra.Function
	Subscribers        map[string]*platforminfra.Subscriber
	// WorkerQueues are the service's own queues by name (the fan-out queue).
	WorkerQueues map[string]*platforminfra.WorkerQueue
}

// PostsToConnections are the functions that post to WebSocket connections and so get
// execute-api:ManageConnections (POST only): the fan-out pushes views, and the message
// routes post their replies ("subscribed", "unsubscribed", "error") with
// PostToConnection. $connect and $disconnect post nothing and get none.
var PostsToConnections = map[string]bool{
	notifications.FunctionFanOut:      true,
	notifications.FunctionFanOutBatch: true,
	notifications.FunctionSubscribe:   true,
	notifications.FunctionUnsubscribe: true,
	notifications.FunctionDefault:     true,
}

// ConnectionsArn is the execute-api ARN of method on @connections/* of api's stage.
func ConnectionsArn(stack awscdk.Stack, api *string, stage, method string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("execute-api"), Resource: api,
		ResourceName: jsii.String(stage + "/" + method + "/@connections/*"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
}

// NewStack creates the notifications stack from notifications.Describe().
func NewStack(scope constructs.Construct, id string, props platforminfra.StackProps) (*Stack, error) {
	stack, shared := platforminfra.NewServiceStack(scope, id, props, "concertsys notifications service: WebSocket API and fan-out")
	stage := shared.Stage
	svc := notifications.Describe()
	s := &Stack{Stack: stack, Functions: map[string]*platforminfra.Function{}, Subscribers: map[string]*platforminfra.Subscriber{}}

	s.Connections = awsdynamodb.NewTable(stack, jsii.String("Connections"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(notifications.TablePartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:                          &awsdynamodb.Attribute{Name: jsii.String(notifications.TableSortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute:              jsii.String(notifications.TableTTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		RemovalPolicy:                    awscdk.RemovalPolicy_DESTROY, // connections are ephemeral
	})

	platforminfra.SkipCheckov(s.Connections, platforminfra.SkipDynamoDBCMK)

	s.API = awsapigatewayv2.NewCfnApi(stack, jsii.String("WebSocketApi"), &awsapigatewayv2.CfnApiProps{
		Name:                     jsii.String("concertsys-notifications-" + stage),
		ProtocolType:             jsii.String("WEBSOCKET"),
		RouteSelectionExpression: jsii.String(notifications.RouteSelection),
		Description:              jsii.String("live concert view updates"),
	})
	s.ManagementEndpoint = jsii.String("https://" + *s.API.Ref() + ".execute-api." + *stack.Region() + "." + *stack.UrlSuffix() + "/" + stage)

	env := map[string]string{
		notifications.EnvConnectionsTable:   *s.Connections.TableName(),
		notifications.EnvManagementEndpoint: *s.ManagementEndpoint,
	}
	// execute-api:ManageConnections, POST only (PostToConnection), on this API's stage
	// only: the connection id is known only at run time. No function closes or
	// inspects connections (DELETE, GET), so none may.
	postToConnections := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PostToThisApisConnections"),
		Actions:   jsii.Strings("execute-api:ManageConnections"),
		Resources: &[]*string{ConnectionsArn(stack, s.API.Ref(), stage, "POST")},
	})
	newFn := func(name string, extra map[string]string) *platforminfra.Function {
		fnEnv := maps.Clone(env)
		maps.Copy(fnEnv, extra)
		fn := platforminfra.NewFunction(stack, "Fn-"+name, platforminfra.FunctionProps{
			Service: svc.Name, Name: name, AssetDir: props.AssetDir, Environment: fnEnv,
		})
		s.Connections.GrantReadWriteData(fn.Role)
		if PostsToConnections[name] {
			fn.Role.AddToPrincipalPolicy(postToConnections)
			platforminfra.Suppress(fn.Role, platforminfra.Suppression{
				ID:     "AwsSolutions-IAM5",
				Reason: "connection ids are only known at run time: POST (PostToConnection) on this API's stage, any connection",
				OnlyMatching: []string{`^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<WebSocketApi[0-9A-F]*>\/` +
					stage + `\/POST\/@connections\/\*$`},
			})
		}
		s.Functions[name] = fn
		return fn
	}

	var routes []awscdk.CfnResource
	for _, r := range svc.WebSocketRoutes {
		fn := newFn(r.Function, nil)
		integration := awsapigatewayv2.NewCfnIntegration(stack, jsii.String("Integration-"+r.Function), &awsapigatewayv2.CfnIntegrationProps{
			ApiId:           s.API.Ref(),
			IntegrationType: jsii.String("AWS_PROXY"),
			IntegrationUri: jsii.String("arn:" + *stack.Partition() + ":apigateway:" + *stack.Region() +
				":lambda:path/2015-03-31/functions/" + *fn.Function.FunctionArn() + "/invocations"),
		})
		route := awsapigatewayv2.NewCfnRoute(stack, jsii.String("Route-"+r.Function), &awsapigatewayv2.CfnRouteProps{
			ApiId:             s.API.Ref(),
			RouteKey:          jsii.String(r.RouteKey),
			AuthorizationType: jsii.String("NONE"),
			Target:            jsii.String("integrations/" + *integration.Ref()),
		})
		platforminfra.Suppress(route, platforminfra.Suppression{
			ID:     "AwsSolutions-APIG4",
			Reason: "the WebSocket API pushes public read-model views (the same data GET /concerts serves without a token)",
		})
		routes = append(routes, route)
		fn.Function.AddPermission(jsii.String("WebSocket-"+r.Function), &awslambda.Permission{
			Principal: awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
			Action:    jsii.String("lambda:InvokeFunction"),
			SourceArn: stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("execute-api"), Resource: s.API.Ref(),
				ResourceName: jsii.String("*/" + r.RouteKey), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
			}),
		})
	}

	logs := awslogs.NewLogGroup(stack, jsii.String("WebSocketAccessLogs"), &awslogs.LogGroupProps{
		Retention: platforminfra.DefaultLogRetention, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	platforminfra.SkipCheckov(logs, platforminfra.SkipLogGroupKMS)
	// An explicit deployment (after every route) keyed by the routes, so a changed
	// route set gets a new deployment.
	deployment := awsapigatewayv2.NewCfnDeployment(stack, jsii.String("Deployment"+routesHash(svc)), &awsapigatewayv2.CfnDeploymentProps{
		ApiId: s.API.Ref(),
	})
	for _, r := range routes {
		deployment.Node().AddDependency(r)
	}
	s.APIStage = awsapigatewayv2.NewCfnStage(stack, jsii.String("WebSocketStage"), &awsapigatewayv2.CfnStageProps{
		ApiId:        s.API.Ref(),
		StageName:    jsii.String(stage),
		DeploymentId: deployment.Ref(),
		AccessLogSettings: &awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
			DestinationArn: logs.LogGroupArn(), Format: jsii.String(wsAccessLogFormat),
		},
		DefaultRouteSettings: &awsapigatewayv2.CfnStage_RouteSettingsProperty{
			ThrottlingRateLimit: jsii.Number(wsThrottleRate), ThrottlingBurstLimit: jsii.Number(wsThrottleBurst),
		},
	})

	// The fan-out queue first: the fan-out's environment names it.
	s.WorkerQueues = map[string]*platforminfra.WorkerQueue{}
	for _, w := range svc.QueueWorkers {
		fn := newFn(w.Function, nil)
		s.WorkerQueues[w.Queue] = platforminfra.NewWorkerQueue(stack, "Queue-"+w.Queue, platforminfra.WorkerQueueProps{
			Name: svc.Name + " " + w.Queue, Function: fn.Function, FunctionTimeout: platforminfra.DefaultTimeout,
			MaxReceiveCount: w.MaxReceiveCount,
		})
	}
	fanOutQueue := s.WorkerQueues[notifications.QueueFanOutBatches]
	for _, c := range svc.Consumers {
		var extra map[string]string
		if c.Function == notifications.FunctionFanOut && fanOutQueue != nil {
			extra = map[string]string{notifications.EnvFanOutQueueURL: *fanOutQueue.Queue.QueueUrl()}
		}
		fn, ok := s.Functions[c.Function]
		if !ok {
			fn = newFn(c.Function, extra)
		}
		if extra != nil {
			// The fan-out sends its batches there, and may do nothing else with it.
			fanOutQueue.Queue.GrantSendMessages(fn.Role)
		}
		sub, err := platforminfra.NewSubscriber(stack, "Sub-"+c.Function, platforminfra.SubscriberProps{
			Subscription: c.Subscription, BusName: shared.BusName(), Function: fn.Function, FunctionTimeout: platforminfra.DefaultTimeout,
		})
		if err != nil {
			return nil, fmt.Errorf("notifications stack: %w", err)
		}
		s.Subscribers[c.Function] = sub
	}

	url := jsii.String("wss://" + *s.API.Ref() + ".execute-api." + *stack.Region() + "." + *stack.UrlSuffix() + "/" + stage)
	platforminfra.Publish(stack, stage, platforminfra.ParamWebSocketURL, url)
	awscdk.NewCfnOutput(stack, jsii.String("WebSocketUrl"), &awscdk.CfnOutputProps{Value: url})
	return s, nil
}
