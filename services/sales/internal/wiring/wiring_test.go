package wiring_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sales "github.com/concertsys/services/sales"
	"github.com/concertsys/services/sales/internal/wiring"
)

func TestBuildFailsFastOnMissingEnvironment(t *testing.T) {
	full := map[string]string{
		sales.EnvTable: "t", sales.EnvArchiveARN: "arn:aws:events:us-east-1:1:archive/a",
		sales.EnvBusARN: "arn:aws:events:us-east-1:1:event-bus/b", sales.EnvRuleARN: "arn:aws:events:us-east-1:1:rule/b/r",
	}
	t.Setenv("AWS_REGION", "us-east-1")
	tests := []struct {
		name, function, unset, wantErr string
	}{
		{name: "unknown function", function: "nope", wantErr: `unknown function "nope"`},
		{name: "record without table", function: sales.FunctionRecord, unset: sales.EnvTable, wantErr: sales.EnvTable},
		{name: "catch-up without rule", function: sales.FunctionCatchUp, unset: sales.EnvRuleARN, wantErr: sales.EnvRuleARN},
		{name: "record", function: sales.FunctionRecord},
		{name: "get", function: sales.FunctionGet},
		{name: "catch-up", function: sales.FunctionCatchUp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == tc.unset {
					return ""
				}
				return full[k]
			}
			h, err := wiring.Build(t.Context(), tc.function, getenv, nil)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr, "got %v", err)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, h, "got no handler for %s", tc.function)
		})
	}
}
