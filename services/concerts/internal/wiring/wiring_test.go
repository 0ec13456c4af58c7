package wiring_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/concerts/internal/wiring"
)

func TestBuild(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	full := env(map[string]string{concerts.EnvEventLogTable: "events", concerts.EnvIdempotencyTable: "idempotency", concerts.EnvSnapshotTable: "snapshots"})
	tests := []struct {
		name     string
		function string
		getenv   func(string) string
		wantErr  bool
	}{
		{name: "enricher needs no table", function: concerts.FunctionEnrichEvents, getenv: env(nil)},
		{name: "write without env fails fast", function: concerts.FunctionSellTickets, getenv: env(nil), wantErr: true},
		{name: "write without idempotency table", function: concerts.FunctionSellTickets, getenv: env(map[string]string{concerts.EnvEventLogTable: "events"}), wantErr: true},
		{name: "write without snapshot table", function: concerts.FunctionSellTickets, getenv: env(map[string]string{concerts.EnvEventLogTable: "events", concerts.EnvIdempotencyTable: "idempotency"}), wantErr: true},
		{name: "unknown function", function: "nope", getenv: full, wantErr: true},
	}
	for _, r := range concerts.Describe().HTTPRoutes {
		tests = append(tests, struct {
			name     string
			function string
			getenv   func(string) string
			wantErr  bool
		}{name: r.Function, function: r.Function, getenv: full})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := wiring.Build(context.Background(), tt.function, tt.getenv, slog.New(slog.DiscardHandler))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, h)
		})
	}
}
