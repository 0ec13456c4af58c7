package lambdamain

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	projections "github.com/concertsys/services/projections"
)

func TestBuildFailsFastOnMissingEnvironment(t *testing.T) {
	full := map[string]string{
		EnvViewsTable: "views", EnvEventLogTable: "events", EnvEventBusName: "bus",
		EnvCursorKey: strings.Repeat("k", 32), "AWS_REGION": "eu-west-1",
	}
	without := func(name string) map[string]string {
		env := map[string]string{}
		for k, v := range full {
			if k != name {
				env[k] = v
			}
		}
		return env
	}
	tests := []struct {
		name     string
		function string
		env      map[string]string
		wantErr  string
	}{
		{"consumer", projections.FunctionProjectConcerts, full, ""},
		{"get", projections.FunctionGetConcert, without(EnvCursorKey), ""},
		{"list", projections.FunctionListConcerts, full, ""},
		{"rebuild", projections.FunctionRebuild, without(EnvEventBusName), ""},
		{"no views table", projections.FunctionGetConcert, without(EnvViewsTable), EnvViewsTable},
		{"consumer without log", projections.FunctionProjectConcerts, without(EnvEventLogTable), EnvEventLogTable},
		{"consumer without bus", projections.FunctionProjectConcerts, without(EnvEventBusName), EnvEventBusName},
		{"list without key", projections.FunctionListConcerts, without(EnvCursorKey), EnvCursorKey},
		{"list with short key", projections.FunctionListConcerts, map[string]string{EnvViewsTable: "v", EnvCursorKey: "short"}, "at least 32 bytes"},
		{"rebuild without log", projections.FunctionRebuild, without(EnvEventLogTable), EnvEventLogTable},
		{"unknown function", "nope", full, "unknown function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := build(context.Background(), tc.function, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, h)
		})
	}
}
