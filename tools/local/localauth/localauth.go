// Package localauth is a local stand-in for a Cognito user pool: it issues RS256 JWTs
// shaped like Cognito access tokens and verifies them the way an API Gateway HTTP API
// JWT authorizer does (issuer, audience or client_id, expiry, signature). devstack uses
// it so organizer-only routes behave locally as they do on AWS.
package localauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/concertsys/platform/service"
	"github.com/golang-jwt/jwt/v5"

	"github.com/concertsys/tools/local/internal/atomicfile"
)

const (
	// DefaultIssuer is the iss of every local token. It is fixed (not derived from the
	// listen address) so tokens stay valid when devstack moves to another port.
	DefaultIssuer = "http://localhost/_local/cognito"
	// DefaultClientID is the app client id, carried in client_id like Cognito access tokens.
	DefaultClientID = "concertsys-local"
	// OrganizersGroup is the Cognito group that may call write routes.
	OrganizersGroup = service.OrganizersGroup
	// JWKSPath is where a server should mount JWKSHandler: under the issuer's path,
	// as Cognito serves <issuer>/.well-known/jwks.json.
	JWKSPath = "/_local/cognito/.well-known/jwks.json"
	// KeyFile is the file LoadOrCreate keeps the signing key in.
	KeyFile = "jwt-signing-key.pem"
)

var (
	// ErrUnauthorized means no usable token: missing, malformed, expired, wrong issuer,
	// audience or signature. Gateways answer 401.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden means a valid token that lacks the required group. Gateways answer 403.
	ErrForbidden = errors.New("forbidden")
)

// Issuer signs tokens with one RSA key.
type Issuer struct {
	key *rsa.PrivateKey
	kid string
}

// New returns an issuer with a fresh in-memory key (tokens die with the process).
func New() (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return newIssuer(key), nil
}

// LoadOrCreate returns an issuer whose key is persisted in dir/KeyFile (mode 0600), so
// tokens issued before a restart still verify after it.
func LoadOrCreate(dir string) (*Issuer, error) {
	path := filepath.Join(dir, KeyFile)
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := parseKey(raw)
		if err != nil {
			return nil, fmt.Errorf("load signing key %s: %w", path, err)
		}
		return newIssuer(key), nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read signing key %s: %w", path, err)
	}
	iss, err := New()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(iss.key)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key dir %s: %w", dir, err)
	}
	// Write then rename so a crash never leaves a truncated key behind.
	if err := atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("install signing key %s: %w", path, err)
	}
	return iss, nil
}

func parseKey(raw []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want RSA", k)
	}
	return rk, nil
}

func newIssuer(key *rsa.PrivateKey) *Issuer {
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey) // an RSA public key always marshals
	sum := sha256.Sum256(der)
	return &Issuer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:12])}
}

// Token issues a Cognito-style access token for subject in groups, valid for ttl.
func (i *Issuer) Token(subject string, groups []string, ttl time.Duration) (string, error) {
	if subject == "" {
		return "", errors.New("issue token: empty subject")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("issue token: ttl %s must be positive", ttl)
	}
	now := time.Now()
	jti := make([]byte, 16)
	_, _ = rand.Read(jti) // crypto/rand.Read never fails
	claims := jwt.MapClaims{
		"sub":        subject,
		"iss":        DefaultIssuer,
		"client_id":  DefaultClientID,
		"token_use":  "access",
		"scope":      "aws.cognito.signin.user.admin",
		"username":   subject,
		"auth_time":  now.Unix(),
		"iat":        now.Unix(),
		"exp":        now.Add(ttl).Unix(),
		"jti":        fmt.Sprintf("%x", jti),
		"origin_jti": fmt.Sprintf("%x", jti),
	}
	if len(groups) > 0 {
		claims["cognito:groups"] = slices.Clone(groups)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = i.kid
	s, err := tok.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verifier returns the verifier that accepts this issuer's tokens.
func (i *Issuer) Verifier() *Verifier {
	return &Verifier{key: &i.key.PublicKey, kid: i.kid, issuer: DefaultIssuer, audience: DefaultClientID, signed: &signedTokens{}}
}

// JWKSHandler serves the public key as a JWK set, as Cognito does at
// /.well-known/jwks.json, so external tools can verify local tokens too.
func (i *Issuer) JWKSHandler() http.Handler {
	pub := i.key.PublicKey
	body, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA",
		"alg": "RS256",
		"use": "sig",
		"kid": i.kid,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// Verifier checks tokens like an HTTP API JWT authorizer configured with the issuer
// and the app client id as audience.
type Verifier struct {
	key      *rsa.PublicKey
	kid      string
	issuer   string
	audience string
	now      func() time.Time
	signed   *signedTokens // shared by WithClock copies: the key is the same
}

// maxSignedTokens bounds the tokens whose signature a Verifier remembers; a full
// cache starts over (a developer's browser and CLI hold a handful of tokens).
const maxSignedTokens = 1024

// signedTokens remembers the claims of tokens whose RS256 signature this key
// verified, by the token's exact bytes: checking the signature was about 60 µs of
// every authorized request, and the same bytes always verify the same way. What
// depends on the time (exp, iat, nbf) is checked on every request.
type signedTokens struct {
	mu     sync.Mutex
	claims map[string]jwt.MapClaims
}

func (c *signedTokens) get(token string) (jwt.MapClaims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	claims, ok := c.claims[token]
	return claims, ok
}

func (c *signedTokens) put(token string, claims jwt.MapClaims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.claims == nil || len(c.claims) >= maxSignedTokens {
		c.claims = map[string]jwt.MapClaims{}
	}
	c.claims[token] = claims
}

// WithClock returns a copy of v that reads the time from now (tests of expiry).
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	c := *v
	c.now = now
	return &c
}

// Verify returns the token's claims, or an error wrapping ErrUnauthorized.
func (v *Verifier) Verify(token string) (map[string]any, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: no token", ErrUnauthorized)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(v.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(0),
	}
	if v.now != nil {
		opts = append(opts, jwt.WithTimeFunc(v.now))
	}
	claims, known := v.signed.get(token)
	if known {
		// The signature and header were checked when it was first seen; the claims
		// are checked now, against the current time.
		if err := jwt.NewValidator(opts...).Validate(claims); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnauthorized, err)
		}
	} else {
		claims = jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
			if kid, _ := t.Header["kid"].(string); kid != v.kid {
				return nil, fmt.Errorf("unknown kid %q", kid)
			}
			return v.key, nil
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnauthorized, err)
		}
	}
	// Like the HTTP API authorizer: aud (ID tokens) or client_id (access tokens) must
	// name the configured audience.
	aud, _ := claims.GetAudience()
	if cid, _ := claims["client_id"].(string); !slices.Contains(aud, v.audience) && cid != v.audience {
		return nil, fmt.Errorf("%w: audience does not match %q", ErrUnauthorized, v.audience)
	}
	if !known {
		v.signed.put(token, claims)
	}
	return maps.Clone(claims), nil // callers may change theirs; the remembered one stays
}

// Groups returns the cognito:groups claim.
func Groups(claims map[string]any) []string {
	switch g := claims["cognito:groups"].(type) {
	case []string:
		return g
	case []any:
		out := make([]string, 0, len(g))
		for _, x := range g {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case string: // API Gateway renders arrays as "[a b]" in authorizer claims
		return strings.Fields(strings.Trim(g, "[]"))
	}
	return nil
}

// RequireGroup returns an error wrapping ErrForbidden unless claims carry group.
func RequireGroup(claims map[string]any, group string) error {
	if slices.Contains(Groups(claims), group) {
		return nil
	}
	return fmt.Errorf("%w: not in group %q", ErrForbidden, group)
}

// BearerToken extracts the token from an Authorization header value ("Bearer <jwt>").
// Like the HTTP API authorizer it also accepts the bare token.
func BearerToken(header string) string {
	h := strings.TrimSpace(header)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return h
}
