package infra_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	platforminfra "github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/infra/infratest"

	sales "github.com/concertsys/services/sales"
	"github.com/concertsys/services/sales/infra"
)

// TestStack synthesizes the sales stack once and checks it in subtests.
func TestStack(t *testing.T) {
	app := infratest.NewApp(t)
	svc := sales.Describe()
	s, err := infra.NewStack(app, infra.StackName, platforminfra.StackProps{Stage: "test", AssetDir: infratest.WriteAssets(t, svc)})
	require.NoError(t, err)
	tpl := infratest.Synth(t, s.Stack)
	fns := tpl.Functions()

	t.Run("no nag errors, self-contained", func(t *testing.T) {
		infratest.RequireNoNagErrors(t, s.Stack)
		infratest.RequireSelfContained(t, tpl)
	})
	t.Run("every function", func(t *testing.T) {
		for _, name := range svc.Functions() {
			f, ok := fns[svc.Name+" "+name]
			require.True(t, ok, "function %s missing, got %v", name, fns)
			require.NotNil(t, infratest.Get(f.Properties, "Environment", "Variables", sales.EnvTable), name)
		}
	})
	t.Run("rule from the Go subscription, fed through a queue with a dead-letter queue", func(t *testing.T) {
		rules := tpl.Resources("AWS::Events::Rule")
		require.Len(t, rules, 1)
		infratest.RequireSubscriber(t, tpl, sales.Subscription(), fns[svc.Name+" "+sales.FunctionRecord])
		infratest.RequireNothingDropsSilently(t, tpl)
	})
	t.Run("query route", func(t *testing.T) {
		routes := tpl.Routes()
		require.Contains(t, routes, sales.RouteGet, "got routes %v", routes)
	})
	t.Run("only the catch-up job may replay, and only start and follow", func(t *testing.T) {
		for _, name := range svc.Functions() {
			stmts := tpl.FunctionStatements(fns[svc.Name+" "+name])
			for _, stmt := range stmts {
				for _, a := range infratest.Actions(stmt) {
					if name != sales.FunctionCatchUp {
						require.NotContains(t, a, "events:", "%s may %s", name, a)
						continue
					}
					if len(a) > 7 && a[:7] == "events:" {
						require.Contains(t, []string{"events:StartReplay", "events:DescribeReplay"}, a, "catch-up may %s", a)
					}
				}
			}
		}
		job := tpl.FunctionStatements(fns[svc.Name+" "+sales.FunctionCatchUp])
		start := infratest.WithAction(job, "events:StartReplay")
		require.Len(t, start, 1, "got %v", start)
		require.Contains(t, infratest.Template{JSON: start[0]}.String(), "archive/concertsys-test-archive")
		describe := infratest.WithAction(job, "events:DescribeReplay")
		require.Len(t, describe, 1, "got %v", describe)
		require.Contains(t, infratest.Template{JSON: describe[0]}.String(), "replay/sales-catch-up-*")
	})
}
