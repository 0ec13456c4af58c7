package stack

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoopbackChecks(t *testing.T) {
	hosts := []struct {
		host string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"localhost:8080", true},
		{"LOCALHOST", true},
		{"board.localhost:8080", true},
		{"[::1]:8080", true},
		{"127.9.9.9", true},
		{"evil.example:8080", false},
		{"192.168.1.10:8080", false},
		{"localhost.evil.example", false},
		{"", false},
	}
	for _, tt := range hosts {
		t.Run("host "+tt.host, func(t *testing.T) {
			require.Equal(t, tt.want, loopbackHost(tt.host), "loopbackHost(%q)", tt.host)
		})
	}
	remotes := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:51234", true},
		{"[::1]:51234", true},
		{"[::ffff:127.0.0.1]:51234", true},
		{"10.0.0.2:51234", false},
		{"garbage", false},
	}
	for _, tt := range remotes {
		t.Run("remote "+tt.addr, func(t *testing.T) {
			require.Equal(t, tt.want, loopbackRemote(tt.addr), "loopbackRemote(%q)", tt.addr)
		})
	}
}

func TestLocalToken(t *testing.T) {
	for _, auth := range []bool{true, false} {
		st, err := Start(context.Background(), Config{
			Addr: "127.0.0.1:0", InMemory: true, Auth: auth, Logger: slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close(context.Background()) })
		handler := st.server.Handler

		tests := []struct {
			name, remote, host string
			want               int
		}{
			{"loopback", "127.0.0.1:40000", "127.0.0.1:8080", http.StatusOK},
			{"rebound dns name", "127.0.0.1:40000", "attacker.example:8080", http.StatusMisdirectedRequest}, // the Host guard
			{"remote client", "192.0.2.7:40000", "127.0.0.1:8080", http.StatusForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodGet, LocalTokenPath, nil)
				req.RemoteAddr, req.Host = tt.remote, tt.host
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				body, _ := io.ReadAll(rec.Body)
				require.Equal(t, tt.want, rec.Code, "got %d %s", rec.Code, body)
				require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
				if tt.want != http.StatusOK {
					return
				}
				var got struct {
					Auth  bool   `json:"auth"`
					Token string `json:"token"`
				}
				require.NoError(t, json.Unmarshal(body, &got))
				require.Equal(t, auth, got.Auth)
				if !auth {
					require.Empty(t, got.Token)
					return
				}
				claims, err := st.Issuer().Verifier().Verify(got.Token)
				require.NoError(t, err, "the board token must verify")
				require.Equal(t, LocalTokenSubject, claims["sub"])
			})
		}
	}
}
