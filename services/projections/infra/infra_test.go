package infra_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	platforminfra "github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/infra/infratest"

	projections "github.com/concertsys/services/projections"
	"github.com/concertsys/services/projections/infra"
)

// ssmParam returns the logical id of the SSM-typed stack parameter reading key.
func ssmParam(t *testing.T, tpl infratest.Template, key string) string {
	params, _ := tpl.JSON["Parameters"].(map[string]any)
	for id, p := range params {
		if infratest.Get(p, "Default") == platforminfra.ParameterName("test", key) {
			require.Equal(t, "AWS::SSM::Parameter::Value<String>", infratest.Get(p, "Type"))
			return id
		}
	}
	t.Fatalf("no stack parameter reads %s", key)
	return ""
}

// TestStack synthesizes the projections stack once and checks it in subtests.
func TestStack(t *testing.T) {
	app := infratest.NewApp(t)
	svc := projections.Describe()
	s, err := infra.NewStack(app, platforminfra.ProjectionsStackName, platforminfra.StackProps{Stage: "test", AssetDir: infratest.WriteAssets(t, svc)})
	require.NoError(t, err)
	tpl := infratest.Synth(t, s.Stack)
	fns := tpl.Functions()
	fn := func(name string) infratest.Resource {
		f, ok := fns[svc.Name+" "+name]
		require.True(t, ok, "function %s missing", name)
		return f
	}
	policyOf := func(f infratest.Resource) []any {
		role := infratest.Get(f.Properties, "Role", "Fn::GetAtt", 0)
		var stmts []any
		for _, p := range tpl.Resources("AWS::IAM::Policy") {
			if slices.ContainsFunc(p.Properties["Roles"].([]any), func(r any) bool { return infratest.Get(r, "Ref") == role }) {
				s, _ := infratest.Get(p.Properties, "PolicyDocument", "Statement").([]any)
				stmts = append(stmts, s...)
			}
		}
		return stmts
	}

	t.Run("views table with the list query's index", func(t *testing.T) {
		tables := tpl.Resources("AWS::DynamoDB::Table")
		require.Len(t, tables, 1)
		p := tables[0].Properties
		require.Equal(t, "id", infratest.Get(p, "KeySchema", 0, "AttributeName"))
		gsi := infratest.Get(p, "GlobalSecondaryIndexes", 0)
		require.Equal(t, "byStatus", infratest.Get(gsi, "IndexName"))
		require.ElementsMatch(t, []any{
			map[string]any{"AttributeName": "status", "KeyType": "HASH"},
			map[string]any{"AttributeName": "position", "KeyType": "RANGE"},
		}, infratest.Get(gsi, "KeySchema"))
		require.Equal(t, "ALL", infratest.Get(gsi, "Projection", "ProjectionType"))
		require.Equal(t, true, infratest.Get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"))
	})
	t.Run("consumer rule is the go subscription", func(t *testing.T) {
		rules := tpl.Resources("AWS::Events::Rule")
		require.Len(t, rules, len(svc.Consumers))
		for i, c := range svc.Consumers {
			infratest.RequireSubscriberRule(t, rules[i], c.Subscription, fn(c.Function))
			r := rules[i].Properties
			require.NotNil(t, infratest.Get(r, "Targets", 0, "DeadLetterConfig", "Arn"))
			require.Equal(t, map[string]any{"Ref": ssmParam(t, tpl, platforminfra.ParamBusName)}, r["EventBusName"])
		}
	})
	t.Run("environment of every function", func(t *testing.T) {
		want := map[string][]string{
			projections.FunctionGetConcert:      {"VIEWS_TABLE"},
			projections.FunctionListConcerts:    {"VIEWS_TABLE", "CURSOR_KEY"},
			projections.FunctionProjectConcerts: {"VIEWS_TABLE", "EVENT_LOG_TABLE", "EVENT_BUS_NAME"},
			projections.FunctionRebuild:         {"VIEWS_TABLE", "EVENT_LOG_TABLE"},
		}
		for name, vars := range want {
			got, _ := infratest.Get(fn(name).Properties, "Environment", "Variables").(map[string]any)
			var keys []string
			for k := range got {
				keys = append(keys, k)
			}
			require.ElementsMatch(t, vars, keys, "function %s", name)
			if v, ok := got["EVENT_LOG_TABLE"]; ok {
				require.Equal(t, map[string]any{"Ref": ssmParam(t, tpl, platforminfra.ParamEventLogTableName)}, v)
			}
		}
		key := infratest.Template{JSON: map[string]any{"v": infratest.Get(fn(projections.FunctionListConcerts).Properties, "Environment", "Variables", "CURSOR_KEY")}}
		require.Contains(t, key.String(), "resolve:secretsmanager")
	})
	t.Run("public query routes", func(t *testing.T) {
		routes := tpl.Routes()
		require.Len(t, routes, len(svc.HTTPRoutes))
		for _, r := range svc.HTTPRoutes {
			require.Equal(t, "NONE", infratest.Get(routes[r.RouteKey], "AuthorizationType"), r.RouteKey)
			require.Equal(t, map[string]any{"Ref": ssmParam(t, tpl, platforminfra.ParamHTTPAPIID)}, routes[r.RouteKey]["ApiId"])
		}
	})
	t.Run("reads the event log, writes only the bus", func(t *testing.T) {
		logArn := ssmParam(t, tpl, platforminfra.ParamEventLogTableArn)
		busArn := ssmParam(t, tpl, platforminfra.ParamBusArn)
		for _, name := range []string{projections.FunctionProjectConcerts, projections.FunctionRebuild} {
			var logActions []string
			for _, st := range policyOf(fn(name)) {
				if infratest.Get(st, "Resource", "Ref") == logArn {
					logActions = append(logActions, infratest.Actions(st)...)
				}
			}
			require.ElementsMatch(t, infra.EventLogReadActions, logActions, "function %s on the event log", name)
		}
		var puts []any
		for _, f := range fns {
			for _, st := range policyOf(f) {
				if slices.Contains(infratest.Actions(st), "events:PutEvents") {
					puts = append(puts, infratest.Get(st, "Resource"))
				}
			}
		}
		require.Equal(t, []any{map[string]any{"Ref": busArn}}, puts, "PutEvents only by the consumer, only on the bus")
	})
	t.Run("no cross-stack exports", func(t *testing.T) {
		infratest.RequireSelfContained(t, tpl)
	})
	t.Run("cdk-nag AwsSolutions", func(t *testing.T) {
		infratest.RequireNoNagErrors(t, s.Stack)
	})
}
