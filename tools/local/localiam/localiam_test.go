package localiam_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/localiam"
)

var now = time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)

// sign signs req over body with the real SDK signer, as the SDK clients do.
func sign(t *testing.T, req *http.Request, body string, c localiam.Credentials, service string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", at))
}

// serverRequest turns a client request into what a server handler sees.
func serverRequest(req *http.Request, body string) *http.Request {
	sr := httptest.NewRequest(req.Method, req.URL.String(), strings.NewReader(body))
	sr.Header = req.Header.Clone()
	sr.Host = req.URL.Host
	sr.RemoteAddr = "127.0.0.1:40000"
	return sr
}

func TestVerify(t *testing.T) {
	store, err := localiam.NewMemory()
	require.NoError(t, err)
	proj, err := store.Credentials(localiam.Projections)
	require.NoError(t, err)
	const body = `{"Entries":[{"Source":"projections"}]}`
	tests := []struct {
		name     string
		path     string
		creds    localiam.Credentials
		signedAt time.Time
		mutate   func(r *http.Request)
		wantErr  string
	}{
		{name: "valid signature", path: "/_aws/events", creds: proj, signedAt: now},
		{name: "valid, escaped path and query", path: "/_aws/ws/@connections/abc%3D?x=a+b&a-b=1&a=2", creds: proj, signedAt: now},
		{name: "clock skew within 15 minutes", path: "/_aws/events", creds: proj, signedAt: now.Add(-14 * time.Minute)},
		{name: "wrong secret", path: "/_aws/events", creds: localiam.Credentials{AccessKeyID: proj.AccessKeyID, SecretAccessKey: "wrong"}, signedAt: now, wantErr: "signature"},
		{name: "unknown key", path: "/_aws/events", creds: localiam.Credentials{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: proj.SecretAccessKey}, signedAt: now, wantErr: "unknown access key"},
		{name: "stale date", path: "/_aws/events", creds: proj, signedAt: now.Add(-16 * time.Minute), wantErr: "expired"},
		{name: "future date", path: "/_aws/events", creds: proj, signedAt: now.Add(16 * time.Minute), wantErr: "expired"},
		{name: "tampered body", path: "/_aws/events", creds: proj, signedAt: now,
			mutate: func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "projections", "concerts   ", 1)))
			}, wantErr: "signature"},
		{name: "missing signed host", path: "/_aws/events", creds: proj, signedAt: now,
			mutate: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";host;", ";", 1))
			}, wantErr: "host"},
		{name: "other host", path: "/_aws/events", creds: proj, signedAt: now,
			mutate: func(r *http.Request) { r.Host = "evil.example" }, wantErr: "signature"},
		{name: "unsigned", path: "/_aws/events", signedAt: now,
			mutate: func(r *http.Request) { r.Header.Del("Authorization") }, wantErr: "not signed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+tt.path, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			c := tt.creds
			if c.AccessKeyID == "" {
				c = proj
			}
			sign(t, req, body, c, "events", tt.signedAt)
			sr := serverRequest(req, body)
			if tt.mutate != nil {
				tt.mutate(sr)
			}
			got, err := io.ReadAll(sr.Body)
			require.NoError(t, err)
			principal, err := store.Verify(sr, got, now)
			if tt.wantErr != "" {
				require.Error(t, err, "got principal %q, want an error containing %q", principal.Principal, tt.wantErr)
				require.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, localiam.Projections, principal.Principal, "got principal %q, want %q", principal.Principal, localiam.Projections)
		})
	}
}

func TestGuard(t *testing.T) {
	store, err := localiam.NewMemory()
	require.NoError(t, err)
	g := localiam.Guard{Store: store, Now: func() time.Time { return now }}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b) // the body reaches the API intact
	})
	events, mgmt := g.Events(ok), g.Management(ok)
	put := func(source string) string {
		return `{"Entries":[{"Source":"` + source + `","DetailType":"X","Detail":"{}"}]}`
	}
	tests := []struct {
		name      string
		handler   http.Handler
		method    string
		path      string
		target    string
		body      string
		principal string // empty: unsigned
		remote    string
		wantCode  int
		wantType  string
	}{
		{name: "projections puts its own source", handler: events, path: "/_aws/events", target: "AWSEvents.PutEvents", body: put("projections"), principal: localiam.Projections, wantCode: 200},
		{name: "projections may not put concerts", handler: events, path: "/_aws/events", target: "AWSEvents.PutEvents", body: put("concerts"), principal: localiam.Projections, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "one foreign entry denies the call", handler: events, path: "/_aws/events", target: "AWSEvents.PutEvents",
			body: `{"Entries":[{"Source":"projections"},{"Source":"concerts"}]}`, principal: localiam.Projections, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "concerts puts concerts", handler: events, path: "/_aws/events", target: "AWSEvents.PutEvents", body: put("concerts"), principal: localiam.Concerts, wantCode: 200},
		{name: "concerts may not put projections", handler: events, path: "/_aws/events", target: "AWSEvents.PutEvents", body: put("projections"), principal: localiam.Concerts, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "notifications may not put", handler: events, path: "/_aws/events", target: "AWSEvents.PutEvents", body: put("notifications"), principal: localiam.Notifications, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "unsigned PutEvents", handler: events, path: "/_aws/events", target: "AWSEvents.PutEvents", body: put("concerts"), wantCode: 400, wantType: "AccessDeniedException"},
		{name: "developer puts any source", handler: events, path: "/_aws/events", target: "AWSEvents.PutEvents", body: put("concerts"), principal: localiam.Developer, wantCode: 200},
		{name: "TestEventPattern unsigned on loopback", handler: events, path: "/_aws/events", target: "AWSEvents.TestEventPattern", body: `{}`, wantCode: 200},
		{name: "TestEventPattern unsigned from the network", handler: events, path: "/_aws/events", target: "AWSEvents.TestEventPattern", body: `{}`, remote: "192.0.2.1:1234", wantCode: 400, wantType: "AccessDeniedException"},
		{name: "service may not use other operations", handler: events, path: "/_aws/events", target: "AWSEvents.ListRules", body: `{}`, principal: localiam.Projections, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "services may not start replays", handler: events, path: "/_aws/events", target: "AWSEvents.StartReplay", body: `{}`, principal: localiam.Concerts, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "projections starts its rebuild replays", handler: events, path: "/_aws/events", target: "AWSEvents.StartReplay", body: `{"ReplayName":"projections-rebuild-1"}`, principal: localiam.Projections, wantCode: 200},
		{name: "projections describes its rebuild replays", handler: events, path: "/_aws/events", target: "AWSEvents.DescribeReplay", body: `{"ReplayName":"projections-rebuild-1"}`, principal: localiam.Projections, wantCode: 200},
		{name: "projections may not start other replays", handler: events, path: "/_aws/events", target: "AWSEvents.StartReplay", body: `{"ReplayName":"sales-1"}`, principal: localiam.Projections, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "projections may not describe other replays", handler: events, path: "/_aws/events", target: "AWSEvents.DescribeReplay", body: `{}`, principal: localiam.Projections, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "projections may not cancel replays", handler: events, path: "/_aws/events", target: "AWSEvents.CancelReplay", body: `{"ReplayName":"projections-rebuild-1"}`, principal: localiam.Projections, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "services may not change archives", handler: events, path: "/_aws/events", target: "AWSEvents.DeleteArchive", body: `{}`, principal: localiam.Concerts, wantCode: 400, wantType: "AccessDeniedException"},
		{name: "developer starts replays", handler: events, path: "/_aws/events", target: "AWSEvents.StartReplay", body: `{}`, principal: localiam.Developer, wantCode: 200},
		{name: "developer tails", handler: events, method: http.MethodGet, path: "/_aws/events/tail?pattern=%7B%7D", principal: localiam.Developer, wantCode: 200},
		{name: "unsigned tail", handler: events, method: http.MethodGet, path: "/_aws/events/tail", wantCode: 403},
		{name: "projections may not list dead letters", handler: events, method: http.MethodGet, path: "/_aws/events/dead-letters", principal: localiam.Projections, wantCode: 403},
		{name: "developer redrives", handler: events, path: "/_aws/events/dead-letters/redrive", body: `{"all":true}`, principal: localiam.Developer, wantCode: 200},
		{name: "notifications posts to a connection", handler: mgmt, path: "/_aws/ws/@connections/abc%3D", body: `hi`, principal: localiam.Notifications, wantCode: 200},
		{name: "developer deletes a connection", handler: mgmt, method: http.MethodDelete, path: "/_aws/ws/@connections/abc", principal: localiam.Developer, wantCode: 200},
		{name: "projections may not manage connections", handler: mgmt, path: "/_aws/ws/@connections/abc", body: `hi`, principal: localiam.Projections, wantCode: 403, wantType: "AccessDeniedException"},
		{name: "oversized body", handler: events, path: "/_aws/events", target: "AWSEvents.PutEvents", body: strings.Repeat(" ", 8<<20+1), principal: localiam.Developer, wantCode: 413, wantType: "ValidationException"},
		{name: "unsigned management call", handler: mgmt, method: http.MethodGet, path: "/_aws/ws/@connections/abc", wantCode: 403, wantType: "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, "http://127.0.0.1:8080"+tt.path, strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
				req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			}
			if tt.principal != "" {
				c, err := store.Credentials(tt.principal)
				require.NoError(t, err)
				service := "events"
				if strings.HasPrefix(tt.path, "/_aws/ws") {
					service = "execute-api"
				}
				sign(t, req, tt.body, c, service, now)
			}
			sr := serverRequest(req, tt.body)
			if tt.remote != "" {
				sr.RemoteAddr = tt.remote
			}
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, sr)
			require.Equal(t, tt.wantCode, rec.Code, "got status %d, want %d: %s", rec.Code, tt.wantCode, rec.Body)
			require.Equal(t, tt.wantType, rec.Header().Get("X-Amzn-ErrorType"), "got error type %q, want %q", rec.Header().Get("X-Amzn-ErrorType"), tt.wantType)
			if tt.wantCode == 200 {
				require.Equal(t, tt.body, rec.Body.String(), "got body %q passed on, want %q", rec.Body, tt.body)
			}
			if tt.wantType == "AccessDeniedException" && strings.HasPrefix(tt.path, "/_aws/events") {
				require.Contains(t, rec.Body.String(), `"__type":"AccessDeniedException"`)
			}
		})
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	first, err := localiam.LoadOrCreate(dir)
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(dir, localiam.CredentialsFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "got mode %v, want 0600", fi.Mode().Perm())
	again, err := localiam.LoadOrCreate(dir)
	require.NoError(t, err)
	for _, p := range localiam.Principals {
		a, err := first.Credentials(p)
		require.NoError(t, err)
		b, err := again.Credentials(p)
		require.NoError(t, err)
		require.Equal(t, a, b, "got different keys for %s after reload, want the persisted ones", p)
		require.Len(t, a.AccessKeyID, 20)
	}
	dev, _ := first.Credentials(localiam.Developer)
	proj, _ := first.Credentials(localiam.Projections)
	require.NotEqual(t, dev.AccessKeyID, proj.AccessKeyID)
	_, err = first.Credentials("nobody")
	require.Error(t, err)
}

// TestLoadKeepsPrincipalsOfMoreServices: a file written by a devstack running a service
// this process never registered (e.g. sales, read by loadgen) loads and saves whole;
// an entry that cannot be a principal is refused.
func TestLoadKeepsPrincipalsOfMoreServices(t *testing.T) {
	tests := []struct {
		name, principal string
		wantErr         bool
	}{
		{"another service", "sales", false},
		{"service name with a dash and digit", "ticket-scan2", false},
		{"empty", "", true},
		{"upper case", "Sales", true},
		{"path-like", "../x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), localiam.CredentialsFile)
			body := `{"credentials":[{"principal":"developer","accessKeyId":"AKIADEV","secretAccessKey":"s1"},` +
				`{"principal":"` + tt.principal + `","accessKeyId":"AKIAOTHER","secretAccessKey":"s2"}]}`
			require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
			s, err := localiam.Load(path)
			if tt.wantErr {
				require.Error(t, err, "got nil want an error for principal %q", tt.principal)
				return
			}
			require.NoError(t, err)
			require.NoError(t, s.WriteFile(path))
			again, err := localiam.Load(path)
			require.NoError(t, err)
			got, err := again.Credentials(tt.principal)
			require.NoError(t, err)
			require.Equal(t, "AKIAOTHER", got.AccessKeyID, "got %q want the key written back", got.AccessKeyID)
		})
	}
}
