package localauth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/localauth"
)

func TestVerify(t *testing.T) {
	iss, err := localauth.New()
	require.NoError(t, err)
	other, err := localauth.New()
	require.NoError(t, err)
	good, err := iss.Token("alice", []string{"organizers"}, time.Hour)
	require.NoError(t, err)
	foreign, err := other.Token("alice", []string{"organizers"}, time.Hour)
	require.NoError(t, err)

	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
	hmac, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": localauth.DefaultIssuer, "client_id": localauth.DefaultClientID, "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte("secret"))
	require.NoError(t, err)

	tests := []struct {
		name  string
		token string
		clock time.Time
		ok    bool
	}{
		{name: "valid", token: good, ok: true},
		{name: "empty", token: ""},
		{name: "garbage", token: "not.a.jwt"},
		{name: "other key", token: foreign},
		{name: "tampered payload", token: tampered},
		{name: "hmac algorithm", token: hmac},
		{name: "expired", token: good, clock: time.Now().Add(2 * time.Hour)},
		{name: "issued in the future", token: good, clock: time.Now().Add(-time.Hour)},
	}
	// Each case runs on a new verifier and on one that has already verified the good
	// token (its signature is remembered; the time-bound claims must still be checked).
	for _, tc := range tests {
		for _, primed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/primed=%v", tc.name, primed), func(t *testing.T) {
				v := iss.Verifier()
				if primed {
					_, err := v.Verify(good)
					require.NoError(t, err)
				}
				if !tc.clock.IsZero() {
					v = v.WithClock(func() time.Time { return tc.clock })
				}
				claims, err := v.Verify(tc.token)
				if !tc.ok {
					require.ErrorIs(t, err, localauth.ErrUnauthorized, "got claims %v, want unauthorized", claims)
					return
				}
				require.NoError(t, err)
				require.Equal(t, "alice", claims["sub"])
				require.Equal(t, "access", claims["token_use"])
				require.Equal(t, localauth.DefaultClientID, claims["client_id"])
				require.Equal(t, localauth.DefaultIssuer, claims["iss"])
				claims["sub"] = "mallory" // a caller's change stays its own
				again, err := v.Verify(tc.token)
				require.NoError(t, err)
				require.Equal(t, "alice", again["sub"], "got sub %v after a caller changed its claims, want alice", again["sub"])
			})
		}
	}
}

func TestVerifyRejectsWrongIssuerAndAudience(t *testing.T) {
	iss, err := localauth.New()
	require.NoError(t, err)
	key := localauth.SigningKey(iss)
	tests := []struct {
		name   string
		claims jwt.MapClaims
	}{
		{name: "wrong issuer", claims: jwt.MapClaims{"iss": "https://evil", "client_id": localauth.DefaultClientID}},
		{name: "wrong client", claims: jwt.MapClaims{"iss": localauth.DefaultIssuer, "client_id": "other"}},
		{name: "no audience", claims: jwt.MapClaims{"iss": localauth.DefaultIssuer}},
		{name: "no expiry", claims: jwt.MapClaims{"iss": localauth.DefaultIssuer, "client_id": localauth.DefaultClientID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "no expiry" {
				tc.claims["exp"] = time.Now().Add(time.Hour).Unix()
			}
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, tc.claims)
			tok.Header["kid"] = kid(t, iss)
			s, err := tok.SignedString(key)
			require.NoError(t, err)
			_, err = iss.Verifier().Verify(s)
			require.ErrorIs(t, err, localauth.ErrUnauthorized)
		})
	}
	t.Run("aud instead of client_id is accepted", func(t *testing.T) {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": localauth.DefaultIssuer, "aud": localauth.DefaultClientID, "exp": time.Now().Add(time.Hour).Unix(),
		})
		tok.Header["kid"] = kid(t, iss)
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		_, err = iss.Verifier().Verify(s)
		require.NoError(t, err)
	})
}

func TestRequireGroup(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{name: "json array", claims: map[string]any{"cognito:groups": []any{"x", "organizers"}}, ok: true},
		{name: "string slice", claims: map[string]any{"cognito:groups": []string{"organizers"}}, ok: true},
		{name: "api gateway rendering", claims: map[string]any{"cognito:groups": "[fans organizers]"}, ok: true},
		{name: "other group", claims: map[string]any{"cognito:groups": []any{"fans"}}},
		{name: "no groups", claims: map[string]any{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := localauth.RequireGroup(tc.claims, localauth.OrganizersGroup)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, localauth.ErrForbidden)
				require.False(t, errors.Is(err, localauth.ErrUnauthorized))
			}
		})
	}
}

func TestLoadOrCreatePersistsKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "auth")
	first, err := localauth.LoadOrCreate(dir)
	require.NoError(t, err)
	tok, err := first.Token("bob", []string{"organizers"}, time.Hour)
	require.NoError(t, err)

	info, err := os.Stat(filepath.Join(dir, localauth.KeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "got mode %v want 0600", info.Mode().Perm())

	second, err := localauth.LoadOrCreate(dir) // a restart
	require.NoError(t, err)
	claims, err := second.Verifier().Verify(tok)
	require.NoError(t, err, "a token issued before the restart must verify after it")
	require.Equal(t, "bob", claims["sub"])

	require.NoError(t, os.WriteFile(filepath.Join(dir, localauth.KeyFile), []byte("junk"), 0o600))
	_, err = localauth.LoadOrCreate(dir)
	require.Error(t, err, "a corrupt key file must not be replaced silently")
}

func TestTokenRejectsBadInput(t *testing.T) {
	iss, err := localauth.New()
	require.NoError(t, err)
	_, err = iss.Token("", nil, time.Hour)
	require.Error(t, err)
	_, err = iss.Token("a", nil, 0)
	require.Error(t, err)
}

func TestJWKSVerifiesTokens(t *testing.T) {
	iss, err := localauth.New()
	require.NoError(t, err)
	srv := httptest.NewServer(iss.JWKSHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/.well-known/jwks.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	require.Len(t, set.Keys, 1)
	require.Equal(t, "RS256", set.Keys[0]["alg"])
	require.Equal(t, kid(t, iss), set.Keys[0]["kid"])

	post, err := http.Post(srv.URL, "text/plain", nil)
	require.NoError(t, err)
	post.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, post.StatusCode)
}

// kid reads the key id from an issued token's header.
func kid(t *testing.T, iss *localauth.Issuer) string {
	t.Helper()
	s, err := iss.Token("x", nil, time.Minute)
	require.NoError(t, err)
	tok, _, err := jwt.NewParser().ParseUnverified(s, jwt.MapClaims{})
	require.NoError(t, err)
	return tok.Header["kid"].(string)
}
