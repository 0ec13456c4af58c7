package infra_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	platforminfra "github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/infra/infratest"

	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/notifications/infra"
)

// TestStack synthesizes the notifications stack once and checks it in subtests.
func TestStack(t *testing.T) {
	app := infratest.NewApp(t)
	svc := notifications.Describe()
	s, err := infra.NewStack(app, platforminfra.NotificationsStackName, platforminfra.StackProps{Stage: "test", AssetDir: infratest.WriteAssets(t, svc)})
	require.NoError(t, err)
	tpl := infratest.Synth(t, s.Stack)
	fns := tpl.Functions()
	apis := tpl.Resources("AWS::ApiGatewayV2::Api")
	require.Len(t, apis, 1)
	apiID := apis[0].LogicalID

	t.Run("websocket api and routes", func(t *testing.T) {
		require.Equal(t, "WEBSOCKET", apis[0].Properties["ProtocolType"])
		require.Equal(t, "$request.body.action", apis[0].Properties["RouteSelectionExpression"])
		integrations := map[string]infratest.Resource{}
		for _, i := range tpl.Resources("AWS::ApiGatewayV2::Integration") {
			integrations[i.LogicalID] = i
			require.Equal(t, "AWS_PROXY", i.Properties["IntegrationType"])
		}
		var keys []string
		for _, r := range tpl.Resources("AWS::ApiGatewayV2::Route") {
			keys = append(keys, r.Properties["RouteKey"].(string))
			require.Equal(t, map[string]any{"Ref": apiID}, r.Properties["ApiId"])
			require.NotNil(t, r.Properties["Target"])
		}
		require.ElementsMatch(t, []string{"$connect", "$disconnect", "$default", "subscribe", "unsubscribe"}, keys)
		require.Len(t, integrations, len(svc.WebSocketRoutes))
	})
	t.Run("stage with throttling and access logs", func(t *testing.T) {
		stages := tpl.Resources("AWS::ApiGatewayV2::Stage")
		require.Len(t, stages, 1)
		p := stages[0].Properties
		require.Equal(t, "test", p["StageName"])
		require.NotNil(t, infratest.Get(p, "DefaultRouteSettings", "ThrottlingRateLimit"))
		require.NotNil(t, infratest.Get(p, "DefaultRouteSettings", "ThrottlingBurstLimit"))
		require.NotNil(t, p["AccessLogSettings"])
		deps := tpl.Resources("AWS::ApiGatewayV2::Deployment")
		require.Len(t, deps, 1)
		require.Len(t, deps[0].Raw["DependsOn"], len(svc.WebSocketRoutes), "deployment after every route")
	})
	t.Run("connections table with ttl", func(t *testing.T) {
		tables := tpl.Resources("AWS::DynamoDB::Table")
		require.Len(t, tables, 1)
		p := tables[0].Properties
		require.Equal(t, notifications.TableTTLAttribute, infratest.Get(p, "TimeToLiveSpecification", "AttributeName"))
		require.ElementsMatch(t, []any{
			map[string]any{"AttributeName": notifications.TablePartitionKey, "KeyType": "HASH"},
			map[string]any{"AttributeName": notifications.TableSortKey, "KeyType": "RANGE"},
		}, p["KeySchema"])
	})
	t.Run("every function with the table and management endpoint", func(t *testing.T) {
		for _, name := range svc.Functions() {
			f, ok := fns[svc.Name+" "+name]
			require.True(t, ok, "function %s missing", name)
			vars := infratest.Get(f.Properties, "Environment", "Variables")
			require.NotNil(t, infratest.Get(vars, "CONNECTIONS_TABLE"), name)
			endpoint := infratest.Template{JSON: map[string]any{"e": infratest.Get(vars, "WS_MANAGEMENT_ENDPOINT")}}.String()
			for _, part := range []string{`"https://"`, apiID, `".execute-api."`, "AWS::Region", `"/test"`} {
				require.Contains(t, endpoint, part, "%s endpoint %s", name, endpoint)
			}
		}
	})
	t.Run("only the functions that post may manage connections: POST on this api's stage only", func(t *testing.T) {
		posters := map[string]bool{
			notifications.FunctionFanOut: true, notifications.FunctionFanOutBatch: true, notifications.FunctionSubscribe: true,
			notifications.FunctionUnsubscribe: true, notifications.FunctionDefault: true,
		}
		require.Equal(t, posters, infra.PostsToConnections)
		for _, name := range svc.Functions() {
			f := fns[svc.Name+" "+name]
			manage := infratest.WithAction(tpl.FunctionStatements(f), "execute-api:ManageConnections")
			if !posters[name] {
				require.Empty(t, manage, "%s posts nothing and may not manage connections", name)
				continue
			}
			require.Len(t, manage, 1, name)
			res := infratest.Template{JSON: map[string]any{"r": manage[0]["Resource"]}}.String()
			require.Contains(t, res, apiID)
			require.Contains(t, res, "/test/POST/@connections/*", "%s: POST (PostToConnection) only", name)
			require.NotContains(t, res, "/test/*/", name)
		}
		// No statement anywhere allows another method or a wildcard API.
		for _, p := range tpl.Resources("AWS::IAM::Policy") {
			stmts, _ := infratest.Get(p.Properties, "PolicyDocument", "Statement").([]any)
			for _, st := range stmts {
				for _, a := range infratest.Actions(st) {
					require.NotEqual(t, "execute-api:*", a)
					if a == "execute-api:ManageConnections" {
						require.Contains(t, infratest.Template{JSON: map[string]any{"r": infratest.Get(st, "Resource")}}.String(), "/test/POST/@connections/*")
					}
				}
			}
		}
	})
	t.Run("fan-out: rule to queue to function, the go subscription", func(t *testing.T) {
		rules := tpl.Resources("AWS::Events::Rule")
		require.Len(t, rules, len(svc.Consumers))
		for _, c := range svc.Consumers {
			fn, ok := fns[svc.Name+" "+c.Function]
			require.True(t, ok, "function %s missing", c.Function)
			require.Nil(t, fn.Properties["DeadLetterConfig"], "function %s is not invoked asynchronously", c.Function)
			infratest.RequireSubscriber(t, tpl, c.Subscription, fn)
		}
		infratest.RequireNothingDropsSilently(t, tpl)
	})
	t.Run("fan-out queue: the fan-out sends batches, fan-out-batch reads them one per invocation", func(t *testing.T) {
		fan, batch := fns[svc.Name+" "+notifications.FunctionFanOut], fns[svc.Name+" "+notifications.FunctionFanOutBatch]
		queueRef := infratest.Get(fan.Properties, "Environment", "Variables", notifications.EnvFanOutQueueURL, "Ref")
		queueID, _ := queueRef.(string)
		q, ok := tpl.Resource(queueID)
		require.True(t, ok && q.Type == "AWS::SQS::Queue", "got %s=%v want the queue's URL", notifications.EnvFanOutQueueURL, queueRef)
		require.Equal(t, true, q.Properties["SqsManagedSseEnabled"])
		require.GreaterOrEqual(t, q.Properties["VisibilityTimeout"], 6*batch.Properties["Timeout"].(float64))
		dlq, _ := infratest.Get(q.Properties, "RedrivePolicy", "deadLetterTargetArn", "Fn::GetAtt", 0).(string)
		infratest.RequireDeadLetterAlarm(t, tpl, dlq)
		var mapped bool
		for _, m := range tpl.Resources("AWS::Lambda::EventSourceMapping") {
			if infratest.Get(m.Properties, "EventSourceArn", "Fn::GetAtt", 0) == queueID {
				mapped = true
				require.Equal(t, map[string]any{"Ref": batch.LogicalID}, m.Properties["FunctionName"])
				require.Equal(t, []any{"ReportBatchItemFailures"}, m.Properties["FunctionResponseTypes"])
				require.Equal(t, float64(1), m.Properties["BatchSize"], "a failed batch is retried alone")
			}
		}
		require.True(t, mapped, "no event source mapping reads the fan-out queue")
		sends := infratest.WithAction(tpl.FunctionStatements(fan), "sqs:SendMessage")
		require.Len(t, sends, 1)
		require.Equal(t, []any{queueID, "Arn"}, infratest.Get(sends[0], "Resource", "Fn::GetAtt"), "the fan-out sends to its queue only")
		require.Empty(t, infratest.WithAction(tpl.FunctionStatements(batch), "sqs:SendMessage"), "fan-out-batch only reads")
		require.Nil(t, infratest.Get(batch.Properties, "Environment", "Variables", notifications.EnvFanOutQueueURL))
	})
	t.Run("every queue encrypted, every dead-letter queue alarmed", func(t *testing.T) {
		queues := tpl.Resources("AWS::SQS::Queue")
		require.NotEmpty(t, queues)
		for _, q := range queues {
			require.Equal(t, true, q.Properties["SqsManagedSseEnabled"], q.LogicalID)
			if q.Properties["RedrivePolicy"] == nil { // a dead-letter queue
				infratest.RequireDeadLetterAlarm(t, tpl, q.LogicalID)
			}
		}
	})
	t.Run("no cross-stack exports", func(t *testing.T) {
		infratest.RequireSelfContained(t, tpl)
	})
	t.Run("cdk-nag AwsSolutions", func(t *testing.T) {
		infratest.RequireNoNagErrors(t, s.Stack)
	})
}
