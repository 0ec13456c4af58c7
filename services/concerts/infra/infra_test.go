package infra_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	platforminfra "github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/infra/infratest"
	"github.com/concertsys/platform/service"

	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/concerts/infra"
)

// refersTo says whether v (a CloudFormation value) mentions the logical id.
func refersTo(v any, logicalID string) bool {
	switch t := v.(type) {
	case map[string]any:
		if t["Ref"] == logicalID {
			return true
		}
		if ga, ok := t["Fn::GetAtt"].([]any); ok && len(ga) > 0 && ga[0] == logicalID {
			return true
		}
		for _, x := range t {
			if refersTo(x, logicalID) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if refersTo(x, logicalID) {
				return true
			}
		}
	}
	return false
}

// TestStack synthesizes the concerts stack once (one jsii start-up) and checks it in
// subtests.
func TestStack(t *testing.T) {
	app := infratest.NewApp(t)
	svc := concerts.Describe()
	s, err := infra.NewStack(app, platforminfra.ConcertsStackName, platforminfra.StackProps{Stage: "test", AssetDir: infratest.WriteAssets(t, svc)})
	require.NoError(t, err)
	tpl := infratest.Synth(t, s.Stack)

	var logTable, idemTable, snapTable infratest.Resource
	for _, r := range tpl.Resources("AWS::DynamoDB::Table") {
		switch {
		case r.Properties["StreamSpecification"] != nil:
			logTable = r
		case r.Properties["TimeToLiveSpecification"] != nil:
			idemTable = r
		default:
			snapTable = r
		}
	}
	require.NotEmpty(t, snapTable.LogicalID, "no snapshot table")
	require.NotEmpty(t, logTable.LogicalID, "no table with a stream")
	fns := tpl.Functions()

	t.Run("event log table is the design's record", func(t *testing.T) {
		p := logTable.Properties
		require.ElementsMatch(t, []any{
			map[string]any{"AttributeName": eventlog.AttrAggregateID, "KeyType": "HASH"},
			map[string]any{"AttributeName": eventlog.AttrVersion, "KeyType": "RANGE"},
		}, p["KeySchema"])
		require.ElementsMatch(t, []any{
			map[string]any{"AttributeName": eventlog.AttrAggregateID, "AttributeType": "S"},
			map[string]any{"AttributeName": eventlog.AttrVersion, "AttributeType": "N"},
		}, p["AttributeDefinitions"])
		require.Equal(t, "NEW_IMAGE", infratest.Get(p, "StreamSpecification", "StreamViewType"))
		require.Equal(t, true, infratest.Get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"))
		require.Equal(t, true, p["DeletionProtectionEnabled"])
		require.Equal(t, "Retain", logTable.Raw["DeletionPolicy"])
	})
	t.Run("idempotency table has ttl", func(t *testing.T) {
		p := idemTable.Properties
		require.Equal(t, concerts.IdempotencyTTLAttribute, infratest.Get(p, "TimeToLiveSpecification", "AttributeName"))
		require.Equal(t, true, infratest.Get(p, "TimeToLiveSpecification", "Enabled"))
		require.Equal(t, concerts.IdempotencyKeyAttribute, infratest.Get(p, "KeySchema", 0, "AttributeName"))
	})
	t.Run("every function of Describe, with its environment", func(t *testing.T) {
		for _, name := range svc.Functions() {
			f, ok := fns[svc.Name+" "+name]
			require.True(t, ok, "function %s missing", name)
			require.Equal(t, "provided.al2023", f.Properties["Runtime"])
			require.Equal(t, []any{"arm64"}, f.Properties["Architectures"])
			vars, _ := infratest.Get(f.Properties, "Environment", "Variables").(map[string]any)
			if name == concerts.FunctionEnrichEvents {
				require.Empty(t, infratest.WithoutTracing(vars))
				continue
			}
			require.True(t, refersTo(vars[concerts.EnvEventLogTable], logTable.LogicalID), "%s: EVENT_LOG_TABLE got %v", name, vars)
			require.True(t, refersTo(vars[concerts.EnvIdempotencyTable], idemTable.LogicalID), "%s: IDEMPOTENCY_TABLE got %v", name, vars)
			require.True(t, refersTo(vars[concerts.EnvSnapshotTable], snapTable.LogicalID), "%s: SNAPSHOT_TABLE got %v", name, vars)
		}
	})
	t.Run("snapshots in a table of their own, no stream, command role may only get and put", func(t *testing.T) {
		p := snapTable.Properties
		require.Nil(t, p["StreamSpecification"], "nothing in the snapshot table may reach the Pipe")
		require.Equal(t, []any{map[string]any{"AttributeName": concerts.SnapshotKeyAttribute, "KeyType": "HASH"}}, p["KeySchema"])
		roleID := *s.Stack.GetLogicalId(s.CommandRole.Node().DefaultChild().(awscdk.CfnElement))
		var actions []string
		for _, pol := range tpl.Resources("AWS::IAM::Policy") {
			stmts, _ := infratest.Get(pol.Properties, "PolicyDocument", "Statement").([]any)
			for _, st := range stmts {
				if refersTo(infratest.Get(st, "Resource"), snapTable.LogicalID) {
					require.True(t, refersTo(pol.Properties["Roles"], roleID), "only the command role uses snapshots")
					actions = append(actions, infratest.Actions(st)...)
				}
			}
		}
		require.ElementsMatch(t, infra.SnapshotActions, actions)
	})
	t.Run("routes on the shared http api", func(t *testing.T) {
		routes := tpl.Routes()
		require.Len(t, routes, len(svc.HTTPRoutes))
		for _, r := range svc.HTTPRoutes {
			got, ok := routes[r.RouteKey]
			require.True(t, ok, "route %s missing", r.RouteKey)
			require.Contains(t, infratest.Get(got, "ApiId", "Ref"), "SsmParameterValue", "api id from SSM")
			if r.Access == service.Organizers {
				require.Equal(t, "JWT", got["AuthorizationType"], r.RouteKey)
				require.Equal(t, []any{platforminfra.OrganizersScope}, got["AuthorizationScopes"], r.RouteKey)
				require.Contains(t, infratest.Get(got, "AuthorizerId", "Ref"), "SsmParameterValue")
			} else {
				require.Equal(t, "NONE", got["AuthorizationType"], r.RouteKey)
			}
		}
		for _, i := range tpl.Resources("AWS::ApiGatewayV2::Integration") {
			require.Equal(t, "AWS_PROXY", i.Properties["IntegrationType"])
		}
	})
	t.Run("pipe from the log stream through the enricher to the bus", func(t *testing.T) {
		pipe := *s.Stack.GetLogicalId(s.Pipe.Pipe)
		pr, ok := tpl.Resource(pipe)
		require.True(t, ok)
		require.Len(t, tpl.Resources("AWS::Pipes::Pipe"), 2, "the pipe to the bus and the tamper pipe")
		p := pr.Properties
		require.Equal(t, []any{logTable.LogicalID, "StreamArn"}, infratest.Get(p, "Source", "Fn::GetAtt"))
		src := infratest.Get(p, "SourceParameters", "DynamoDBStreamParameters")
		require.Contains(t, []any{"LATEST", "TRIM_HORIZON"}, infratest.Get(src, "StartingPosition"))
		require.LessOrEqual(t, infratest.Get(src, "BatchSize").(float64), float64(10))
		dlq := infratest.Get(src, "DeadLetterConfig", "Arn", "Fn::GetAtt", 0).(string)
		q, ok := tpl.Resource(dlq)
		require.True(t, ok)
		require.Equal(t, "AWS::SQS::Queue", q.Type)
		require.JSONEq(t, `{"eventName":["INSERT"]}`, infratest.Get(p, "SourceParameters", "FilterCriteria", "Filters", 0, "Pattern").(string))
		require.Equal(t, []any{fns[svc.Name+" "+concerts.FunctionEnrichEvents].LogicalID, "Arn"}, infratest.Get(p, "Enrichment", "Fn::GetAtt"))
		require.Contains(t, infratest.Get(p, "Target", "Ref"), "SsmParameterValue", "bus ARN from SSM")
		bp := infratest.Get(p, "TargetParameters", "EventBridgeEventBusParameters")
		require.Equal(t, "$.metadata.eventType", infratest.Get(bp, "DetailType"))
		require.Equal(t, "concerts", infratest.Get(bp, "Source"))
	})
	t.Run("write role appends to the log, never updates or deletes", func(t *testing.T) {
		roleID := *s.Stack.GetLogicalId(s.CommandRole.Node().DefaultChild().(awscdk.CfnElement))
		var logActions []string
		for _, pol := range tpl.Resources("AWS::IAM::Policy") {
			if !refersTo(pol.Properties["Roles"], roleID) {
				continue
			}
			stmts, _ := infratest.Get(pol.Properties, "PolicyDocument", "Statement").([]any)
			for _, st := range stmts {
				if refersTo(infratest.Get(st, "Resource"), logTable.LogicalID) {
					logActions = append(logActions, infratest.Actions(st)...)
				}
			}
		}
		require.Contains(t, logActions, "dynamodb:PutItem")
		require.Contains(t, logActions, "dynamodb:Query")
		for _, forbidden := range []string{"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:*", "dynamodb:BatchWriteItem"} {
			require.False(t, slices.Contains(logActions, forbidden), "write role may %s on the log; got %v", forbidden, logActions)
		}
		// The command functions all use that role.
		for _, r := range svc.HTTPRoutes {
			if r.Access != service.Organizers {
				continue
			}
			f := fns[svc.Name+" "+r.Function]
			require.Equal(t, []any{roleID, "Arn"}, infratest.Get(f.Properties, "Role", "Fn::GetAtt"), r.Function)
		}
	})
	t.Run("appends are conditioned: event record attributes only", func(t *testing.T) {
		roleID := *s.Stack.GetLogicalId(s.CommandRole.Node().DefaultChild().(awscdk.CfnElement))
		var puts []map[string]any
		for _, st := range infratest.WithAction(tpl.RoleStatements(roleID), "dynamodb:PutItem") {
			if refersTo(st["Resource"], logTable.LogicalID) {
				puts = append(puts, st)
			}
		}
		require.Len(t, puts, 1, "one append statement on the log")
		require.ElementsMatch(t, infra.LogAppendActions, infratest.Actions(puts[0]))
		var attrs []string
		for _, a := range infratest.Get(puts[0], "Condition", "ForAllValues:StringEquals", "dynamodb:Attributes").([]any) {
			attrs = append(attrs, a.(string))
		}
		require.ElementsMatch(t, []string{
			eventlog.AttrAggregateID, eventlog.AttrVersion, eventlog.AttrCreated, eventlog.AttrEventType, eventlog.AttrData,
			eventlog.AttrEventID, eventlog.AttrSchemaVersion, eventlog.AttrCorrelationID, eventlog.AttrCausationID,
			eventlog.AttrTraceParent,
		}, attrs)
		require.Len(t, puts[0]["Condition"], 1)
		// Every attribute the codec writes is allowed, so the condition never denies a
		// real append.
		item := eventlog.Item(eventlog.Event{
			AggregateID: "c-1", Version: 1, EventID: "e-1", EventType: "ConcertScheduled", SchemaVersion: 1,
			OccurredAt: time.Unix(1, 0), CorrelationID: "corr", CausationID: "cause", Data: []byte(`{}`),
			TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		})
		for name := range item {
			require.Contains(t, attrs, name)
		}
		// Reads are a statement of their own, without the write conditions.
		for _, st := range infratest.WithAction(tpl.RoleStatements(roleID), "dynamodb:Query") {
			if refersTo(st["Resource"], logTable.LogicalID) {
				require.ElementsMatch(t, infra.LogReadActions, infratest.Actions(st))
			}
		}
	})
	t.Run("only the pipe puts events, as source concerts only", func(t *testing.T) {
		pipeRole := *s.Stack.GetLogicalId(s.Pipe.Role.Node().DefaultChild().(awscdk.CfnElement))
		infratest.RequirePutEventsOnlyAs(t, tpl.RoleStatements(pipeRole), "concerts")
		for _, pol := range tpl.Resources("AWS::IAM::Policy") {
			stmts, _ := infratest.Get(pol.Properties, "PolicyDocument", "Statement").([]any)
			for _, st := range stmts {
				if slices.Contains(infratest.Actions(st), "events:PutEvents") {
					require.True(t, refersTo(pol.Properties["Roles"], pipeRole), "policy %s puts events", pol.LogicalID)
				}
			}
		}
	})
	t.Run("tamper alarm on any MODIFY or REMOVE record of the log stream", func(t *testing.T) {
		var tamper infratest.Resource
		for _, p := range tpl.Resources("AWS::Pipes::Pipe") {
			if infratest.Get(p.Properties, "SourceParameters", "FilterCriteria", "Filters", 0, "Pattern") == platforminfra.TamperFilter {
				tamper = p
			}
		}
		require.NotEmpty(t, tamper.LogicalID, "no pipe filtered to MODIFY/REMOVE")
		require.JSONEq(t, `{"eventName":["MODIFY","REMOVE"]}`, platforminfra.TamperFilter)
		require.Equal(t, []any{logTable.LogicalID, "StreamArn"}, infratest.Get(tamper.Properties, "Source", "Fn::GetAtt"))
		// Into a log group, counted by a metric filter, alarmed on the first record.
		target := infratest.Get(tamper.Properties, "Target", "Fn::GetAtt", 0).(string)
		group, ok := tpl.Resource(target)
		require.True(t, ok)
		require.Equal(t, "AWS::Logs::LogGroup", group.Type)
		require.Equal(t, "Retain", group.Raw["DeletionPolicy"], "the tamper records are evidence")
		filters := tpl.Resources("AWS::Logs::MetricFilter")
		require.Len(t, filters, 1)
		require.Equal(t, map[string]any{"Ref": target}, filters[0].Properties["LogGroupName"])
		require.Equal(t, "", filters[0].Properties["FilterPattern"], "every record counts")
		mt := infratest.Get(filters[0].Properties, "MetricTransformations", 0)
		require.Equal(t, platforminfra.TamperMetricName, infratest.Get(mt, "MetricName"))
		var alarmed bool
		for _, a := range tpl.Resources("AWS::CloudWatch::Alarm") {
			if a.Properties["MetricName"] == platforminfra.TamperMetricName && a.Properties["Namespace"] == platforminfra.TamperMetricNamespace {
				require.Equal(t, float64(1), a.Properties["Threshold"])
				require.Equal(t, "GreaterThanOrEqualToThreshold", a.Properties["ComparisonOperator"])
				alarmed = true
			}
		}
		require.True(t, alarmed, "no alarm on %s", platforminfra.TamperMetricName)
		// The tamper pipe's role reads the stream and writes that group, nothing else.
		role := infratest.Get(tamper.Properties, "RoleArn", "Fn::GetAtt", 0).(string)
		var actions []string
		for _, st := range tpl.RoleStatements(role) {
			actions = append(actions, infratest.Actions(st)...)
		}
		require.ElementsMatch(t, []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
			"dynamodb:ListStreams", "logs:CreateLogStream", "logs:PutLogEvents"}, actions)
	})
	t.Run("no policy in the stack may update or delete log items", func(t *testing.T) {
		for _, pol := range tpl.Resources("AWS::IAM::Policy") {
			stmts, _ := infratest.Get(pol.Properties, "PolicyDocument", "Statement").([]any)
			for _, st := range stmts {
				if !refersTo(infratest.Get(st, "Resource"), logTable.LogicalID) || infratest.Get(st, "Effect") != "Allow" {
					continue
				}
				for _, a := range infratest.Actions(st) {
					require.NotContains(t, []string{"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:*"}, a, "policy %s", pol.LogicalID)
				}
			}
		}
	})
	t.Run("publishes the event log for readers", func(t *testing.T) {
		names := map[string]bool{}
		for _, r := range tpl.Resources("AWS::SSM::Parameter") {
			names[r.Properties["Name"].(string)] = true
		}
		require.True(t, names[platforminfra.ParameterName("test", platforminfra.ParamEventLogTableName)], "got %v", names)
		require.True(t, names[platforminfra.ParameterName("test", platforminfra.ParamEventLogTableArn)], "got %v", names)
	})
	t.Run("no cross-stack exports", func(t *testing.T) {
		infratest.RequireSelfContained(t, tpl)
	})
	t.Run("cdk-nag AwsSolutions", func(t *testing.T) {
		infratest.RequireNoNagErrors(t, s.Stack)
	})
}
