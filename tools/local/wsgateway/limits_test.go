package wsgateway_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/wsgateway"
)

func TestConnectionCaps(t *testing.T) {
	tests := []struct {
		name       string
		opts       wsgateway.Options
		open       int
		wantReason string
	}{
		{"per devstack", wsgateway.Options{MaxConnections: 2, MaxConnectionsPerClient: 10}, 2, "at most 2 at once"},
		{"per client address", wsgateway.Options{MaxConnections: 10, MaxConnectionsPerClient: 3}, 3, "at most 3 at once per client address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			e := newEnv(t, standardRoutes(rec), tt.opts)
			var conns []*websocket.Conn
			for range tt.open {
				conns = append(conns, dial(t, e, "", nil))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, resp, err := websocket.Dial(ctx, e.url, nil)
			require.Error(t, err, "got upgrade %d accepted, want it refused", tt.open+1)
			require.NotNil(t, resp)
			body, _ := io.ReadAll(resp.Body)
			require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "got %d %s, want 429", resp.StatusCode, body)
			require.Contains(t, string(body), tt.wantReason, "got %s", body)
			require.Equal(t, tt.open, rec.count("$connect"), "got $connect run for a refused upgrade")

			// A closed connection frees its slot.
			require.NoError(t, conns[0].Close(websocket.StatusNormalClosure, ""))
			eventually(t, func() bool {
				c, _, err := websocket.Dial(ctx, e.url, nil)
				if err != nil {
					return false
				}
				_ = c.CloseNow()
				return true
			}, "a slot frees up when a connection closes")
		})
	}
}
