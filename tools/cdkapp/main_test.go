package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/infra/infratest"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/testkit/schemavalidate"

	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/notifications"
	projections "github.com/concertsys/services/projections"
)

// TestSynth is the synth smoke test: the whole app, offline, without credentials,
// writes one template per stack, none importing another's exports.
func TestSynth(t *testing.T) {
	infratest.QuietNode()
	t.Setenv("CDK_DEFAULT_ACCOUNT", "")
	t.Setenv("CDK_DEFAULT_REGION", "")
	t.Setenv("CDK_OUTDIR", "")
	schemas, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	described := []service.Service{concerts.Describe(), projections.Describe(), notifications.Describe()}
	stacks := []string{"PlatformStack", "ConcertsStack", "ProjectionsStack", "NotificationsStack"}
	for _, r := range registered { // services added with tools/newservice
		d := r.describe()
		described = append(described, d)
		stacks = append(stacks, strings.ToUpper(d.Name[:1])+d.Name[1:]+"Stack")
	}
	assets := infratest.WriteAssets(t, described...)
	out := t.TempDir()

	t.Run("missing zips name the fix", func(t *testing.T) {
		err := checkAssets(t.TempDir(), nil)
		require.NoError(t, err)
		err = checkAssets(t.TempDir(), []service.Service{concerts.Describe()})
		require.ErrorContains(t, err, "make build")
	})

	require.NoError(t, run([]string{"-out", out, "-assets", assets, "-schemas", schemas, "-stage", "smoke"}, os.Stderr))
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(out, stack+".template.json"))
			require.NoError(t, err)
			var tpl map[string]any
			require.NoError(t, json.Unmarshal(raw, &tpl))
			require.NotEmpty(t, tpl["Resources"])
			require.False(t, strings.Contains(string(raw), "Fn::ImportValue"), "%s imports an export", stack)
			require.False(t, strings.Contains(string(raw), `"Export"`), "%s exports a value", stack)
			require.Contains(t, string(raw), "/concertsys/smoke/", "%s uses the stage's SSM parameters", stack)
			requireTraced(t, tpl)
		})
	}
}

// requireTraced checks tracing in a template: every function has active tracing and
// the sampler's variables (the Go functions); every Pipe with an enrichment
// (AWS::Pipes::Pipe has no tracing property) has a traced function as it and logs failing payloads with their
// traceparent.
func requireTraced(t *testing.T, tpl map[string]any) {
	t.Helper()
	resources := tpl["Resources"].(map[string]any)
	functions := map[string]bool{}
	for id, r := range resources {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Lambda::Function" {
			continue
		}
		functions[id] = true
		props := res["Properties"].(map[string]any)
		require.Equal(t, "Active", infratest.Get(props, "TracingConfig", "Mode"), "function %s: TracingConfig.Mode", id)
		if props["Runtime"] != "provided.al2023" {
			continue // the Cognito trigger, inline Node.js: Lambda's tracing only
		}
		vars, _ := infratest.Get(props, "Environment", "Variables").(map[string]any)
		require.Equal(t, "parentbased_traceidratio", vars["OTEL_TRACES_SAMPLER"], "function %s: sampler", id)
		require.NotEmpty(t, vars["OTEL_TRACES_SAMPLER_ARG"], "function %s: sample ratio", id)
	}
	for id, r := range resources {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Pipes::Pipe" {
			continue
		}
		props := res["Properties"].(map[string]any)
		for key := range props {
			require.NotContains(t, []string{"TracingConfig", "Tracing"}, key, "pipe %s: CloudFormation has no such property", id)
		}
		if props["Enrichment"] == nil {
			continue // the tamper pipe: no function, nothing of a trace crosses it
		}
		enrichment, _ := infratest.Get(props, "Enrichment", "Fn::GetAtt").([]any)
		require.Len(t, enrichment, 2, "pipe %s: enrichment %v", id, props["Enrichment"])
		require.True(t, functions[enrichment[0].(string)], "pipe %s: enrichment %v is a function of this stack", id, enrichment)
		require.Equal(t, []any{"ALL"}, infratest.Get(props, "LogConfiguration", "IncludeExecutionData"), "pipe %s: execution data in its logs", id)
	}
}
