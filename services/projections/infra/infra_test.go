package infra_test

import (
	"slices"
	"strings"
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
	t.Run("consumer: rule to queue to function, the go subscription", func(t *testing.T) {
		rules := tpl.Resources("AWS::Events::Rule")
		require.Len(t, rules, len(svc.Consumers))
		for i, c := range svc.Consumers {
			infratest.RequireSubscriber(t, tpl, c.Subscription, fn(c.Function))
			require.Equal(t, map[string]any{"Ref": ssmParam(t, tpl, platforminfra.ParamBusName)}, rules[i].Properties["EventBusName"])
		}
		infratest.RequireNothingDropsSilently(t, tpl)
	})
	t.Run("environment of every function", func(t *testing.T) {
		want := map[string][]string{
			projections.FunctionGetConcert:      {"VIEWS_TABLE"},
			projections.FunctionListConcerts:    {"VIEWS_TABLE", "CURSOR_KEY_SECRET_ARN"},
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
		// The secret's ARN, never its value: no dynamic reference resolves the key into
		// the environment.
		secrets := tpl.Resources("AWS::SecretsManager::Secret")
		require.Len(t, secrets, 1)
		require.Equal(t, map[string]any{"Ref": secrets[0].LogicalID},
			infratest.Get(fn(projections.FunctionListConcerts).Properties, "Environment", "Variables", projections.EnvCursorKeySecret))
		require.NotContains(t, tpl.String(), "resolve:secretsmanager")
	})
	t.Run("public query routes", func(t *testing.T) {
		routes := tpl.Routes()
		require.Len(t, routes, len(svc.HTTPRoutes))
		for _, r := range svc.HTTPRoutes {
			require.Equal(t, "NONE", infratest.Get(routes[r.RouteKey], "AuthorizationType"), r.RouteKey)
			require.Equal(t, map[string]any{"Ref": ssmParam(t, tpl, platforminfra.ParamHTTPAPIID)}, routes[r.RouteKey]["ApiId"])
		}
	})
	t.Run("reads the event log: only the rebuild job scans it", func(t *testing.T) {
		logArn := ssmParam(t, tpl, platforminfra.ParamEventLogTableArn)
		want := map[string][]string{
			projections.FunctionProjectConcerts: {"dynamodb:GetItem", "dynamodb:Query"},
			projections.FunctionRebuild:         {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"},
			projections.FunctionGetConcert:      nil,
			projections.FunctionListConcerts:    nil,
		}
		for name, actions := range want {
			var logActions []string
			for _, st := range policyOf(fn(name)) {
				if infratest.Get(st, "Resource", "Ref") == logArn {
					logActions = append(logActions, infratest.Actions(st)...)
				}
			}
			require.ElementsMatch(t, actions, logActions, "function %s on the event log", name)
		}
		require.ElementsMatch(t, want[projections.FunctionProjectConcerts], infra.EventLogReadActions)
		require.ElementsMatch(t, want[projections.FunctionRebuild], infra.EventLogRebuildActions)
	})
	t.Run("only the consumer puts events, on the bus, as source projections only", func(t *testing.T) {
		busArn := ssmParam(t, tpl, platforminfra.ParamBusArn)
		for _, f := range fns {
			puts := infratest.WithAction(tpl.FunctionStatements(f), "events:PutEvents")
			if f.LogicalID != fn(projections.FunctionProjectConcerts).LogicalID {
				require.Empty(t, puts, "function %s puts events", f.Properties["Description"])
				continue
			}
			infratest.RequirePutEventsOnlyAs(t, tpl.FunctionStatements(f), "projections")
			require.Len(t, puts, 1)
			require.Equal(t, map[string]any{"Ref": busArn}, puts[0]["Resource"])
		}
	})
	t.Run("only the list function reads the cursor key, that secret only", func(t *testing.T) {
		secret := tpl.Resources("AWS::SecretsManager::Secret")[0].LogicalID
		for _, f := range fns {
			var secretActions []string
			for _, st := range tpl.FunctionStatements(f) {
				for _, a := range infratest.Actions(st) {
					if strings.HasPrefix(a, "secretsmanager:") {
						secretActions = append(secretActions, a)
						require.Equal(t, map[string]any{"Ref": secret}, st["Resource"])
					}
				}
			}
			if f.LogicalID == fn(projections.FunctionListConcerts).LogicalID {
				require.Equal(t, []string{"secretsmanager:GetSecretValue"}, secretActions)
			} else {
				require.Empty(t, secretActions, "function %s", f.Properties["Description"])
			}
		}
	})
	t.Run("no function is invoked asynchronously", func(t *testing.T) {
		for _, f := range fns {
			require.Nil(t, f.Properties["DeadLetterConfig"], "function %s", f.Properties["Description"])
			require.Contains(t, infratest.CheckovSkips(t, f), "CKV_AWS_116", "synchronous function %s", f.Properties["Description"])
		}
	})
	t.Run("no cross-stack exports", func(t *testing.T) {
		infratest.RequireSelfContained(t, tpl)
	})
	t.Run("cdk-nag AwsSolutions", func(t *testing.T) {
		infratest.RequireNoNagErrors(t, s.Stack)
	})
}
