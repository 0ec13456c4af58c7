package infra_test

import (
	"encoding/json"
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

// render is a template value as JSON text (an ARN built with Fn::Join and references).
func render(v any) string {
	b, _ := json.Marshal(v) // template values are JSON already
	return string(b)
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
			projections.FunctionProjectConcerts: {"VIEWS_TABLE", "EVENT_BUS_NAME"},
			projections.FunctionRebuild:         {"VIEWS_TABLE", "ARCHIVE_ARN", "EVENT_BUS_ARN", "RULE_ARN"},
		}
		for name, vars := range want {
			got, _ := infratest.Get(fn(name).Properties, "Environment", "Variables").(map[string]any)
			got = infratest.WithoutTracing(got)
			var keys []string
			for k := range got {
				keys = append(keys, k)
			}
			require.ElementsMatch(t, vars, keys, "function %s", name)
		}
		rebuildEnv := infratest.Get(fn(projections.FunctionRebuild).Properties, "Environment", "Variables")
		rules := tpl.Resources("AWS::Events::Rule")
		require.Equal(t, map[string]any{"Fn::GetAtt": []any{rules[0].LogicalID, "Arn"}}, infratest.Get(rebuildEnv, projections.EnvRuleARN),
			"the rebuild replays to the consumer's rule")
		require.Equal(t, map[string]any{"Ref": ssmParam(t, tpl, platforminfra.ParamBusArn)}, infratest.Get(rebuildEnv, projections.EnvBusARN))
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
	t.Run("no access to another service's table: its own table only, shared names only", func(t *testing.T) {
		// The SSM parameters the stack reads are the platform's, none of another service.
		var read []string
		params, _ := tpl.JSON["Parameters"].(map[string]any)
		for _, p := range params {
			if d, ok := infratest.Get(p, "Default").(string); ok && strings.HasPrefix(d, "/concertsys/") {
				read = append(read, d)
			}
		}
		var want []string
		for _, key := range []string{platforminfra.ParamBusName, platforminfra.ParamBusArn, platforminfra.ParamHTTPAPIID} {
			want = append(want, platforminfra.ParameterName("test", key))
		}
		require.ElementsMatch(t, want, read, "got stack parameters %v", read)
		views := tpl.Resources("AWS::DynamoDB::Table")[0].LogicalID
		for _, f := range fns {
			for _, st := range policyOf(f) {
				for _, a := range infratest.Actions(st) {
					if strings.HasPrefix(a, "dynamodb:") {
						res := render(infratest.Get(st, "Resource"))
						require.Contains(t, res, views, "function %s may %s on %s, want only its views table", f.Properties["Description"], a, res)
					}
				}
			}
		}
	})
	t.Run("only the rebuild job replays, the bus archive only, and follows its own replays", func(t *testing.T) {
		for _, f := range fns {
			var replay []any
			for _, st := range policyOf(f) {
				for _, a := range infratest.Actions(st) {
					if strings.Contains(a, "Replay") || strings.Contains(a, "Archive") {
						replay = append(replay, st)
					}
				}
			}
			if f.LogicalID != fn(projections.FunctionRebuild).LogicalID {
				require.Empty(t, replay, "function %s", f.Properties["Description"])
				continue
			}
			require.Len(t, replay, 2)
			start, describe := replay[0], replay[1]
			require.Equal(t, []string{"events:StartReplay"}, infratest.Actions(start))
			require.Contains(t, render(infratest.Get(start, "Resource")), ":archive/")
			require.Contains(t, render(infratest.Get(start, "Resource")), "-archive")
			require.Equal(t, []string{"events:DescribeReplay"}, infratest.Actions(describe))
			require.Contains(t, render(infratest.Get(describe, "Resource")), ":replay/"+infra.ReplayNamePrefix+"*")
		}
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
