package wiring

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/queueconsumer"
	projections "github.com/concertsys/services/projections"
)

func TestBuildFailsFastOnMissingEnvironment(t *testing.T) {
	full := map[string]string{
		projections.EnvViewsTable: "views", projections.EnvEventBusName: "bus",
		projections.EnvArchiveARN: "arn:aws:events:eu-west-1:111122223333:archive/bus-archive",
		projections.EnvBusARN:     "arn:aws:events:eu-west-1:111122223333:event-bus/bus",
		projections.EnvRuleARN:    "arn:aws:events:eu-west-1:111122223333:rule/bus/projections-concert-events",
		"AWS_REGION":              "eu-west-1",
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
		{"get", projections.FunctionGetConcert, full, ""},
		{"rebuild", projections.FunctionRebuild, without(projections.EnvEventBusName), ""},
		{"no views table", projections.FunctionGetConcert, without(projections.EnvViewsTable), projections.EnvViewsTable},
		{"consumer without bus", projections.FunctionProjectConcerts, without(projections.EnvEventBusName), projections.EnvEventBusName},
		{"list without key secret", projections.FunctionListConcerts, full, projections.EnvCursorKeySecret},
		{"rebuild without archive", projections.FunctionRebuild, without(projections.EnvArchiveARN), projections.EnvArchiveARN},
		{"rebuild without bus", projections.FunctionRebuild, without(projections.EnvBusARN), projections.EnvBusARN},
		{"rebuild without rule", projections.FunctionRebuild, without(projections.EnvRuleARN), projections.EnvRuleARN},
		{"unknown function", "nope", full, "unknown function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Build(context.Background(), tc.function, func(k string) string { return tc.env[k] }, slog.New(slog.DiscardHandler))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, h)
			if tc.function == projections.FunctionProjectConcerts {
				require.IsType(t, queueconsumer.Handler(nil), h, "the consumer must read its queue (SQS batch handler)")
			}
		})
	}
}
