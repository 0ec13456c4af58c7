package devstackproc_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/internal/devstackproc"
)

func TestServedBy(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		pid    int
		want   bool
	}{
		{name: "ready and ours", status: http.StatusOK, body: `{"status":"ok","pid":42}`, pid: 42, want: true},
		{name: "ready but another process", status: http.StatusOK, body: `{"status":"ok","pid":7}`, pid: 42},
		{name: "not ready", status: http.StatusServiceUnavailable, body: "not ready", pid: 42},
		{name: "not devstack", status: http.StatusOK, body: "<html>", pid: 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.Equal(t, "/healthz", r.URL.Path)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			got := devstackproc.ServedBy(srv.URL, tt.pid)
			require.Equal(t, tt.want, got, "got ServedBy %v, want %v", got, tt.want)
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		addr, err := devstackproc.FreeAddr()
		require.NoError(t, err)
		require.False(t, devstackproc.ServedBy("http://"+addr, 42), "got ready from a closed port, want not ready")
	})
}
