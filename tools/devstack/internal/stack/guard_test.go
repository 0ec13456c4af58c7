package stack

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGuard(t *testing.T) {
	g, err := newGuard("0.0.0.0:8080", []string{"devbox.lan", "Other.Test:9000"}, []string{"http://ui.test:3000"})
	require.NoError(t, err)
	h := g.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	tests := []struct {
		name, method, host, origin, upgrade string
		want                                int
	}{
		{"localhost", "GET", "localhost:8080", "", "", http.StatusNoContent},
		{"trailing dot", "GET", "localhost.:8080", "", "", http.StatusNoContent},
		{"127.1.2.3", "GET", "127.1.2.3", "", "", http.StatusNoContent},
		{"[::1]", "GET", "[::1]:8080", "", "", http.StatusNoContent},
		{"x.localhost", "GET", "x.localhost", "", "", http.StatusNoContent},
		{"addr host", "GET", "0.0.0.0:8080", "", "", http.StatusNoContent},
		{"flag host", "GET", "DEVBOX.lan:8080", "", "", http.StatusNoContent},
		{"flag host given with a port", "GET", "other.test", "", "", http.StatusNoContent},
		{"foreign host", "GET", "evil.example", "", "", http.StatusMisdirectedRequest},
		{"localhost lookalike", "GET", "localhost.evil.example", "", "", http.StatusMisdirectedRequest},
		{"empty host", "GET", "", "", "", http.StatusMisdirectedRequest},
		{"same-origin POST", "POST", "localhost:8080", "http://localhost:8080", "", http.StatusNoContent},
		{"cross-origin POST", "POST", "localhost:8080", "http://evil.example", "", http.StatusForbidden},
		{"other port POST", "POST", "localhost:8080", "http://localhost:8081", "", http.StatusForbidden},
		{"https origin POST", "POST", "localhost:8080", "https://localhost:8080", "", http.StatusForbidden},
		{"null origin DELETE", "DELETE", "localhost:8080", "null", "", http.StatusForbidden},
		{"flag origin PUT", "PUT", "localhost:8080", "http://ui.test:3000", "", http.StatusNoContent},
		{"cross-origin GET", "GET", "localhost:8080", "http://evil.example", "", http.StatusNoContent},
		{"cross-origin OPTIONS", "OPTIONS", "localhost:8080", "http://evil.example", "", http.StatusNoContent},
		{"cross-origin WebSocket", "GET", "localhost:8080", "http://evil.example", "websocket", http.StatusForbidden},
		{"same-origin WebSocket", "GET", "localhost:8080", "http://localhost:8080", "websocket", http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/x", nil)
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.upgrade != "" {
				r.Header.Set("Connection", "Upgrade")
				r.Header.Set("Upgrade", tt.upgrade)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			require.Equal(t, tt.want, rec.Code, "got %d %s, want %d", rec.Code, rec.Body, tt.want)
		})
	}
}

func TestNewGuardRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name           string
		hosts, origins []string
	}{
		{"host as URL", []string{"http://devbox.lan"}, nil},
		{"origin without scheme", nil, []string{"devbox.lan:3000"}},
		{"origin with path", nil, []string{"http://devbox.lan/app"}},
		{"origin ftp", nil, []string{"ftp://devbox.lan"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newGuard("127.0.0.1:8080", tt.hosts, tt.origins)
			require.Error(t, err, "got no error for hosts %v origins %v", tt.hosts, tt.origins)
		})
	}
}
