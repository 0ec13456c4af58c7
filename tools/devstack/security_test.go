package main_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/concertsys/tools/local/localiam"
	"github.com/stretchr/testify/require"
)

// hostDo sends a request with an explicit Host (the Go client ignores a Host header).
func hostDo(t *testing.T, method, u, host, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	if host != "" {
		req.Host = host
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestTrustsOnlyTheDeveloper runs the reproductions against the binary: each
// must now be refused, while the developer's own requests still pass.
func TestTrustsOnlyTheDeveloper(t *testing.T) {
	p := startDevstack(t, freeAddr(t), "-in-memory", "-auth=off", "-allow-host", "devbox.test", "-allow-origin", "http://ui.test:3000")
	_, port, _ := net.SplitHostPort(p.addr)
	foreign := "Origin: http://attacker.example"
	tests := []struct {
		name, method, path, host, body string
		headers                        []string
		want                           int
	}{
		{"loopback ip", "GET", "/healthz", "", "", nil, http.StatusOK},
		{"localhost", "GET", "/healthz", "localhost:" + port, "", nil, http.StatusOK},
		{"sub.localhost", "GET", "/healthz", "board.localhost:" + port, "", nil, http.StatusOK},
		{"ipv6 loopback", "GET", "/healthz", "[::1]:" + port, "", nil, http.StatusOK},
		{"allowed by flag", "GET", "/healthz", "devbox.test:" + port, "", nil, http.StatusOK},
		{"dns rebinding: foreign host", "GET", "/concerts", "attacker.example:" + port, "", nil, http.StatusMisdirectedRequest},
		{"dns rebinding: forged PutEvents", "POST", "/_aws/events", "attacker.example", "{}", []string{"X-Amz-Target: AWSEvents.PutEvents"}, http.StatusMisdirectedRequest},
		{"lan ip", "GET", "/healthz", "192.168.1.10:" + port, "", nil, http.StatusMisdirectedRequest},
		{"cross-site text/plain rebuild", "POST", "/_devstack/jobs/rebuild-projections", "", "{}", []string{"Content-Type: text/plain", foreign}, http.StatusForbidden},
		{"cross-site null origin", "POST", "/_devstack/jobs/rebuild-projections", "", "{}", []string{"Content-Type: text/plain", "Origin: null"}, http.StatusForbidden},
		{"cross-site POST to the API", "POST", "/concerts", "", "{}", []string{"Content-Type: application/json", foreign}, http.StatusForbidden},
		{"same port other host origin", "POST", "/concerts", "", "{}", []string{"Origin: http://localhost:" + port}, http.StatusForbidden},
		{"cross-site GET is a read", "GET", "/concerts", "", "", []string{foreign}, http.StatusOK},
		{"same-origin rebuild", "POST", "/_devstack/jobs/rebuild-projections", "", "{}", []string{"Origin: " + p.url}, http.StatusOK},
		{"origin allowed by flag", "POST", "/_devstack/jobs/rebuild-projections", "", "{}", []string{"Origin: http://ui.test:3000"}, http.StatusOK},
		{"no origin (curl, SDK)", "POST", "/_devstack/jobs/rebuild-projections", "", "{}", nil, http.StatusOK},
		{"pprof is off by default", "GET", "/debug/pprof/", "", "", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := hostDo(t, tt.method, p.url+tt.path, tt.host, tt.body, tt.headers...)
			require.Equal(t, tt.want, res.status, "got %d %s, want %d", res.status, res.body, tt.want)
			if tt.want == http.StatusMisdirectedRequest || tt.want == http.StatusForbidden {
				require.Equal(t, "application/problem+json", res.header.Get("Content-Type"), "got Content-Type %q, want problem+json", res.header.Get("Content-Type"))
			}
		})
	}

	t.Run("board security headers", func(t *testing.T) {
		res := hostDo(t, "GET", p.url+"/", "", "")
		require.Equal(t, http.StatusOK, res.status)
		csp := res.header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "default-src 'none'", "connect-src 'self'", "script-src 'sha256-"} {
			require.Contains(t, csp, want, "got CSP %q, want it to hold %q", csp, want)
		}
		require.NotContains(t, csp, "unsafe-inline", "got CSP %q", csp)
		require.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
		require.Equal(t, "no-referrer", res.header.Get("Referrer-Policy"))
	})

	wsURL := "ws" + strings.TrimPrefix(p.url, "http") + "/ws"
	wsTests := []struct {
		name, origin string
		want         int
	}{
		{"websocket from a foreign origin", "http://attacker.example", http.StatusForbidden},
		{"websocket from its own origin", p.url, http.StatusSwitchingProtocols},
		{"websocket without origin", "", http.StatusSwitchingProtocols},
	}
	for _, tt := range wsTests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: h})
			if c != nil {
				c.CloseNow()
			}
			if tt.want != http.StatusSwitchingProtocols {
				require.Error(t, err)
			}
			require.NotNil(t, resp, "err %v", err)
			require.Equal(t, tt.want, resp.StatusCode, "got %d, want %d (err %v)", resp.StatusCode, tt.want, err)
		})
	}
}

func TestPprofOnlyWithFlag(t *testing.T) {
	p := startDevstack(t, freeAddr(t), "-in-memory", "-pprof")
	tests := []struct {
		name, host string
		headers    []string
		want       int
	}{
		{"loopback", "", nil, http.StatusOK},
		{"foreign host", "attacker.example", nil, http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := hostDo(t, "GET", p.url+"/debug/pprof/", tt.host, "", tt.headers...)
			require.Equal(t, tt.want, res.status, "got %d, want %d", res.status, tt.want)
		})
	}
}

// TestBounds: tails and WebSocket connections are capped with clear answers, and a
// request that stalls mid-body is cut off without stalling shutdown.
func TestBounds(t *testing.T) {
	p := startDevstack(t, freeAddr(t), "-data", t.TempDir(), "-auth=off", "-max-tails", "2", "-max-ws", "3", "-max-ws-per-client", "2", "-read-timeout", "1s")

	t.Run("tails", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for i := range 2 {
			req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/_aws/events/tail", nil)
			p.signAs(t, req, localiam.Developer)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "tail %d: got %d, want 200", i, resp.StatusCode)
		}
		req, _ := http.NewRequest("GET", p.url+"/_aws/events/tail", nil)
		p.signAs(t, req, localiam.Developer)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "got %d %s, want 429", resp.StatusCode, body)
		require.Contains(t, string(body), "at most 2", "got %s", body)
		cancel()
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/_aws/events/tail", nil)
			p.signAs(t, req, localiam.Developer)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 5*time.Second, 50*time.Millisecond, "a tail slot must free up when a tail ends")
	})

	t.Run("websockets per client", func(t *testing.T) {
		wsURL := "ws" + strings.TrimPrefix(p.url, "http") + "/ws"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := range 2 {
			c, _, err := websocket.Dial(ctx, wsURL, nil)
			require.NoError(t, err, "connection %d", i)
			defer c.CloseNow()
		}
		_, resp, err := websocket.Dial(ctx, wsURL, nil)
		require.Error(t, err)
		require.NotNil(t, resp)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "got %d, want 429", resp.StatusCode)
		body, _ := io.ReadAll(resp.Body)
		require.Contains(t, string(body), "per client address", "got %s", body)
	})

	t.Run("stalled body is cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", p.addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "POST /concerts HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", p.addr)
		require.NoError(t, err)
		started := time.Now()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		// Whatever the server answers, it must end the connection soon after the
		// read timeout instead of waiting for the 999 bytes forever.
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
		took := time.Since(started)
		t.Logf("stalled request (1 of 1000 bytes) cut off after %s", took.Round(time.Millisecond))
		require.Less(t, took, 5*time.Second, "got the stalled request open for %s, want it cut off after -read-timeout 1s", took)

	})
}

// TestStalledBodyDoesNotStallShutdown: with the default 30 s read timeout, a request
// whose body stalls is cut off when shutdown starts instead of holding the drain.
func TestStalledBodyDoesNotStallShutdown(t *testing.T) {
	p := startDevstack(t, freeAddr(t), "-in-memory", "-auth=off")
	conn, err := net.Dial("tcp", p.addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /concerts HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", p.addr)
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // the handler is now waiting for the body
	started := time.Now()
	require.NoError(t, p.stop(syscall.SIGTERM), "got a failed shutdown, want a clean one:\n%s", p.logs.String())
	took := time.Since(started)
	t.Logf("shutdown with a stalled request took %s", took.Round(time.Millisecond))
	require.Less(t, took, 5*time.Second, "got shutdown after %s with a stalled request, want it within a few seconds", took)
	require.NotContains(t, p.logs.String(), "requests in flight", "got the drain waiting on the stalled request")
}

func TestBadLimitFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no tails", []string{"-max-tails", "0"}, "-max-tails: 0, want at least 1"},
		{"no websockets", []string{"-max-ws-per-client", "-1"}, "-max-ws-per-client: -1, want at least 1"},
		{"zero retention", []string{"-dead-letter-retention", "0s"}, "-dead-letter-retention: 0s, want a positive duration"},
		{"origin without scheme", []string{"-allow-origin", "devbox.lan"}, "want scheme://host[:port]"},
		{"host as a URL", []string{"-allow-host", "http://devbox.lan"}, "want a host name"},
		{"faults: probability above 1", []string{"-faults", "invoke=2"}, `invalid value "invoke=2" for flag -faults: invoke=2: want a fraction from 0 to 1`},
		{"faults: unknown key", []string{"-faults", "crash=0.1"}, `flag -faults: unknown key "crash"`},
		{"faults: delay without unit", []string{"-faults", "delay=50"}, `flag -faults: delay "50": want a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(devstackBin, append([]string{"-in-memory", "-addr", "127.0.0.1:0"}, tt.args...)...).CombinedOutput()
			require.Error(t, err, "got devstack running with %v, want it to refuse: %s", tt.args, out)
			require.Contains(t, string(out), tt.want, "got %s", out)
		})
	}
}

// TestWildcardAddrStillWorks: with -addr :PORT the services call devstack on the
// listener's own address ([::]:PORT), which the Host guard must accept.
func TestWildcardAddrStillWorks(t *testing.T) {
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := startDevstack(t, addr, "-addr", ":"+port, "-in-memory", "-auth=off") // the last -addr wins
	base := "http://127.0.0.1:" + port
	res := do(t, "POST", base+"/concerts", fmt.Sprintf(`{"artist":"A","venue":"V","startsAt":%q,"capacity":10,"priceCents":1}`, future(time.Hour)))
	require.Equal(t, http.StatusCreated, res.status, "got %d %s", res.status, res.body)
	require.Eventually(t, func() bool {
		r := do(t, "GET", base+"/concerts", "")
		return strings.Contains(string(r.body), `"artist":"A"`)
	}, 10*time.Second, 50*time.Millisecond, "the projection never saw the concert: the services' own calls were refused?\n%s", p.logs.String())
	require.NotContains(t, p.logs.String(), "StatusCode: 421", "got the services' own calls refused by the Host guard")
}
