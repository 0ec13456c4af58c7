package infra_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	platforminfra "github.com/concertsys/platform/infra"
	"github.com/concertsys/platform/infra/infratest"
	"github.com/concertsys/platform/service"

	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/concerts/infra"
)

func actionsOf(stmt any) []string {
	switch a := infratest.Get(stmt, "Action").(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// TestStack synthesizes the concerts stack once and checks it in subtests.
func TestStack(t *testing.T) {
	app := infratest.NewApp(t)
	svc := concerts.Describe()
	s, err := infra.NewStack(app, platforminfra.ConcertsStackName, platforminfra.StackProps{Stage: "test", AssetDir: infratest.WriteAssets(t, svc)})
	require.NoError(t, err)
	tpl := infratest.Synth(t, s.Stack)
	logID := *s.Stack.GetLogicalId(s.EventLog.Node().DefaultChild().(interface{ CfnElement() }).CfnElement())
	_ = logID
}
