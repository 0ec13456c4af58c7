package localiam

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxClockSkew is how far X-Amz-Date may be from the server's clock, as on AWS.
const MaxClockSkew = 15 * time.Minute

const (
	algorithm  = "AWS4-HMAC-SHA256"
	amzDateFmt = "20060102T150405Z"
)

// ErrUnsigned is returned for a request without an Authorization header.
var ErrUnsigned = errors.New("the request is not signed (missing Authorization header)")

// Verify checks r's AWS Signature Version 4 (the Authorization header form the SDKs
// send) over body, the request's full payload, and returns the signer's
// credentials. It follows AWS's documented algorithm: canonical request (method,
// URI-encoded path, sorted query, signed headers, which must include host, and
// the SHA-256 of the payload), string to sign with X-Amz-Date and the credential
// scope, and a key derived from the secret, date, region and service.
func (s *Store) Verify(r *http.Request, body []byte, now time.Time) (Credentials, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Credentials{}, ErrUnsigned
	}
	rest, ok := strings.CutPrefix(auth, algorithm+" ")
	if !ok {
		return Credentials{}, errors.New("unsupported authorization algorithm, want " + algorithm)
	}
	var credential, signedHeaders, signature string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			signature = v
		}
	}
	if credential == "" || signedHeaders == "" || signature == "" {
		return Credentials{}, errors.New("authorization header lacks Credential, SignedHeaders or Signature")
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return Credentials{}, errors.New("credential must be KEY/DATE/REGION/SERVICE/aws4_request")
	}
	keyID, date, region, service := scope[0], scope[1], scope[2], scope[3]
	creds, ok := s.lookup(keyID)
	if !ok {
		return Credentials{}, errors.New("the security token included in the request is invalid (unknown access key)")
	}

	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFmt, amzDate)
	if err != nil {
		return Credentials{}, errors.New("missing or malformed X-Amz-Date")
	}
	if d := now.Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return Credentials{}, fmt.Errorf("signature expired: X-Amz-Date %s is more than %s from the server time %s", amzDate, MaxClockSkew, now.UTC().Format(amzDateFmt))
	}
	if !strings.HasPrefix(amzDate, date) {
		return Credentials{}, errors.New("credential scope date does not match X-Amz-Date")
	}

	headers := strings.Split(signedHeaders, ";")
	if !sort.StringsAreSorted(headers) {
		return Credentials{}, errors.New("SignedHeaders must be sorted")
	}
	var canonHeaders strings.Builder
	hasHost, hasDate := false, false
	for _, h := range headers {
		if h == "" || h != strings.ToLower(h) {
			return Credentials{}, errors.New("SignedHeaders must be lowercase names")
		}
		var values []string
		switch h {
		case "host":
			hasHost = true
			values = []string{r.Host}
		case "content-length":
			values = r.Header.Values(h)
			if len(values) == 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			hasDate = hasDate || h == "x-amz-date"
			values = r.Header.Values(h)
			if len(values) == 0 {
				return Credentials{}, fmt.Errorf("signed header %q is missing", h)
			}
		}
		for i, v := range values {
			values[i] = strings.Join(strings.Fields(v), " ")
		}
		canonHeaders.WriteString(h + ":" + strings.Join(values, ",") + "\n")
	}
	if !hasHost || !hasDate {
		return Credentials{}, errors.New("SignedHeaders must include host and x-amz-date")
	}

	payload := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(payload[:])
	if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" && v != payloadHash {
		return Credentials{}, errors.New("X-Amz-Content-Sha256 does not match the payload")
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canonical := strings.Join([]string{
		r.Method,
		escape(path, false),
		canonicalQuery(r.URL.RawQuery),
		canonHeaders.String(),
		signedHeaders,
		payloadHash,
	}, "\n")
	crHash := sha256.Sum256([]byte(canonical))
	stringToSign := strings.Join([]string{
		algorithm, amzDate, strings.Join(scope[1:], "/"), hex.EncodeToString(crHash[:]),
	}, "\n")

	key := hmacSHA256([]byte("AWS4"+creds.SecretAccessKey), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return Credentials{}, errors.New("the request signature we calculated does not match the signature you provided")
	}
	return creds, nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalQuery URI-encodes every name and value, then sorts by name and value.
func canonicalQuery(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return raw // cannot match what a client signed; the signature check fails
	}
	var pairs [][2]string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, [2]string{escape(k, true), escape(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i][0] != pairs[j][0] {
			return pairs[i][0] < pairs[j][0]
		}
		return pairs[i][1] < pairs[j][1]
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p[0] + "=" + p[1])
	}
	return b.String()
}

// escape percent-encodes every byte but the RFC 3986 unreserved characters (and
// '/' unless encodeSlash), with uppercase hex.
func escape(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !encodeSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
