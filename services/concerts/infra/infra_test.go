package infra_test

import (
	"slices"
	"testing"

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

	var logTable, idemTable infratest.Resource
	for _, r := range tpl.Resources("AWS::DynamoDB::Table") {
		if r.Properties["StreamSpecification"] != nil {
			logTable = r
		} else {
			idemTable = r
		}
	}
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
				require.Empty(t, vars)
				continue
			}
			require.True(t, refersTo(vars[concerts.EnvEventLogTable], logTable.LogicalID), "%s: EVENT_LOG_TABLE got %v", name, vars)
			require.True(t, refersTo(vars[concerts.EnvIdempotencyTable], idemTable.LogicalID), "%s: IDEMPOTENCY_TABLE got %v", name, vars)
		}
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
		pipes := tpl.Resources("AWS::Pipes::Pipe")
		require.Len(t, pipes, 1)
		p := pipes[0].Properties
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
