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
		})
	}
}
