package stack_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/devstack/internal/stack"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestStartServesAndCloseCleansUp(t *testing.T) {
	tests := []struct {
		name     string
		inMemory bool
	}{
		{"in memory", true},
		{"data dir", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			started := time.Now()
			st, err := stack.Start(context.Background(), stack.Config{
				Addr: "127.0.0.1:0", DataDir: data, InMemory: tt.inMemory, Auth: true,
				Logger: slog.New(slog.DiscardHandler),
			})
			require.NoError(t, err)
			t.Logf("started in %s", time.Since(started))

			status, body := get(t, st.URL()+stack.HealthPath)
			require.Equal(t, http.StatusOK, status, body)
			require.NotContains(t, body, "faults", "without -faults nothing is injected or reported")
			status, body = get(t, st.URL()+"/")
			require.Equal(t, http.StatusOK, status)
			require.Contains(t, body, "live board")
			require.NotNil(t, st.Issuer(), "auth on: the stack has an issuer")

			dir := st.DataDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, st.Close(ctx))
			_, err = os.Stat(dir)
			if tt.inMemory {
				require.True(t, os.IsNotExist(err), "in-memory data dir %s left behind", dir)
			} else {
				require.NoError(t, err, "durable data dir removed")
				_, err = os.Stat(filepath.Join(dir, stack.EventLogFile))
				require.NoError(t, err)
			}
			_, err = http.Get(st.URL() + stack.HealthPath)
			require.Error(t, err, "still serving after Close")
		})
	}
}

func TestStartFailsOnBusyAddressAndReleasesStores(t *testing.T) {
	data := t.TempDir()
	first, err := stack.Start(context.Background(), stack.Config{Addr: "127.0.0.1:0", DataDir: data, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer first.Close(context.Background())
	addr := first.URL()[len("http://"):]
	_, err = stack.Start(context.Background(), stack.Config{Addr: addr, DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	require.Error(t, err, "a second stack on a busy address must fail")
}

// startInMemory starts an in-memory stack that writes its /_aws keys to credsFile,
// closed when the test ends.
func startInMemory(t *testing.T, credsFile string) *stack.Stack {
	t.Helper()
	st, err := stack.Start(context.Background(), stack.Config{
		Addr: "127.0.0.1:0", InMemory: true, CredentialsFile: credsFile, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}
