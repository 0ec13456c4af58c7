package wiring_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/queueconsumer"
	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/notifications/internal/wiring"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestReadEnv(t *testing.T) {
	good := map[string]string{
		"CONNECTIONS_TABLE":      "connections",
		"WS_MANAGEMENT_ENDPOINT": "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"complete", good, nil},
		{"nothing set", map[string]string{}, []string{"CONNECTIONS_TABLE is not set", "WS_MANAGEMENT_ENDPOINT must be an absolute URL"}},
		{"relative endpoint", map[string]string{"CONNECTIONS_TABLE": "t", "WS_MANAGEMENT_ENDPOINT": "/_aws/ws"}, []string{"WS_MANAGEMENT_ENDPOINT must be an absolute URL"}},
		{"bad dynamodb endpoint", map[string]string{"CONNECTIONS_TABLE": "t", "WS_MANAGEMENT_ENDPOINT": "http://127.0.0.1:8080/_aws/ws", "DYNAMODB_ENDPOINT": "localhost"}, []string{"DYNAMODB_ENDPOINT must be an absolute URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wiring.ReadEnv(env(tt.env))
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestHandlerForEveryFunction(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	getenv := env(map[string]string{
		"CONNECTIONS_TABLE":      "connections",
		"WS_MANAGEMENT_ENDPOINT": "http://127.0.0.1:1/_aws/ws",
	})
	svc := notifications.Describe()
	var functions []string
	for _, r := range svc.WebSocketRoutes {
		functions = append(functions, r.Function)
	}
	for _, c := range svc.Consumers {
		functions = append(functions, c.Function)
	}
	for _, fn := range functions {
		h, err := wiring.Build(context.Background(), fn, getenv, slog.New(slog.DiscardHandler))
		require.NoError(t, err, fn)
		require.NotNil(t, h, fn)
	}
	for _, c := range svc.Consumers {
		h, err := wiring.Build(context.Background(), c.Function, getenv, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		require.IsType(t, queueconsumer.Handler(nil), h, "consumer %s must read its queue (SQS batch handler)", c.Function)
	}
	_, err := wiring.Build(context.Background(), "no-such-function", getenv, slog.New(slog.DiscardHandler))
	require.Error(t, err)
}
