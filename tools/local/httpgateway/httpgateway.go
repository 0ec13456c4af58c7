// Package httpgateway emulates an API Gateway HTTP API (payload format 2.0) in front of
// service.HTTPRoute handlers. Each request becomes a real events.APIGatewayV2HTTPRequest
// that is serialised to JSON and invoked through aws-lambda-go's handler adapter, exactly
// the bytes a deployed Lambda would get, and the JSON response is mapped back to HTTP.
//
// Emulated API Gateway behaviour: route selection (most specific route wins, {param},
// greedy {proxy+}, ANY, $default), 404 {"message":"Not Found"} without a route, 10 MB
// request limit (413), 30 s integration timeout (503 {"message":"Service Unavailable"}),
// 500 {"message":"Internal Server Error"} on a handler error, panic or malformed
// response, and a JWT authorizer on Organizers routes (401 {"message":"Unauthorized"}).
//
// Group check: a valid token without the "organizers" Cognito group gets 403
// {"message":"Forbidden"}. On AWS the HTTP API JWT authorizer itself checks only
// issuer, audience, expiry and signature; the group is enforced by the deployment
// (route authorization scopes or the handler), and the observable result is the same
// 403, which is what this emulator reproduces.
package httpgateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/local/apigwrequest"
	"github.com/concertsys/tools/local/lambdainvoke"
	"github.com/concertsys/tools/local/localauth"
)

const (
	// DefaultMaxBodyBytes is API Gateway's HTTP API payload quota.
	DefaultMaxBodyBytes = 10 << 20
	// DefaultIntegrationTimeout is API Gateway's HTTP API integration timeout.
	DefaultIntegrationTimeout = 30 * time.Second
	// DefaultAPIID and DefaultAccountID fill the request context when Options leave them empty.
	DefaultAPIID     = "devstack01"
	DefaultAccountID = "000000000000"
	// DefaultRegion names the region in function ARNs given to handlers.
	DefaultRegion = "us-east-1"
)

// Options configure a Gateway. The zero value is usable: auth off, API Gateway limits.
type Options struct {
	// Authorizer verifies tokens on Organizers routes; nil turns authentication off.
	Authorizer *localauth.Verifier
	// Logger gets one line per request; nil discards.
	Logger             *slog.Logger
	APIID              string
	AccountID          string
	Region             string
	MaxBodyBytes       int64
	IntegrationTimeout time.Duration
}

type route struct {
	key   routeKey
	route service.HTTPRoute
	fn    *lambdainvoke.Function
}

// Gateway is an http.Handler serving the routes like an HTTP API's $default stage.
type Gateway struct {
	routes []route
	opts   Options
	log    *slog.Logger
}

var _ http.Handler = (*Gateway)(nil)

// New validates the route keys (unique, well-formed, handler set) and builds the gateway.
func New(routes []service.HTTPRoute, opts Options) (*Gateway, error) {
	if opts.APIID == "" {
		opts.APIID = DefaultAPIID
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.IntegrationTimeout <= 0 {
		opts.IntegrationTimeout = DefaultIntegrationTimeout
	}
	g := &Gateway{opts: opts, log: opts.Logger}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	seen := map[string]string{}
	for _, r := range routes {
		k, err := parseRouteKey(r.RouteKey)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", r.Function, err)
		}
		if r.Handler == nil {
			return nil, fmt.Errorf("function %s: route %q has no handler", r.Function, r.RouteKey)
		}
		if prev, dup := seen[r.RouteKey]; dup {
			return nil, fmt.Errorf("route %q declared by %s and %s", r.RouteKey, prev, r.Function)
		}
		seen[r.RouteKey] = r.Function
		fn := lambdainvoke.New(r.Function, lambdainvoke.ARN(opts.Region, opts.AccountID, r.Function), r.Handler, opts.IntegrationTimeout)
		g.routes = append(g.routes, route{key: k, route: r, fn: fn})
	}
	return g, nil
}

// match picks the most specific matching route.
func (g *Gateway) match(method, escapedPath string) (*route, map[string]string) {
	segs := splitPath(escapedPath)
	var best *route
	var bestParams map[string]string
	for i := range g.routes {
		r := &g.routes[i]
		if r.key.method == "ANY" && !methodKnown(method) {
			continue
		}
		params, ok := r.key.match(method, segs)
		if !ok {
			continue
		}
		if best == nil || moreSpecific(r.key, best.key) {
			best, bestParams = r, params
		}
	}
	return best, bestParams
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := apigwrequest.NewID()
	w.Header().Set("Apigw-Requestid", reqID)
	status, routeKey := g.serve(w, r, reqID, start)
	g.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", routeKey),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(start)),
		slog.String("requestId", reqID),
	)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, reqID string, start time.Time) (int, string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, g.opts.MaxBodyBytes+1))
	if err != nil {
		return writeMessage(w, http.StatusBadRequest, "Bad Request"), ""
	}
	if int64(len(body)) > g.opts.MaxBodyBytes {
		return writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), ""
	}
	rt, params := g.match(r.Method, r.URL.EscapedPath())
	if rt == nil {
		return writeMessage(w, http.StatusNotFound, "Not Found"), ""
	}
	key := rt.route.RouteKey

	var authz *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
	if rt.route.Access == service.Organizers && g.opts.Authorizer != nil {
		claims, err := g.opts.Authorizer.Verify(localauth.BearerToken(r.Header.Get("Authorization")))
		if err != nil {
			w.Header().Set("Www-Authenticate", `Bearer scope="" error="invalid_token" error_description="`+
				strings.ReplaceAll(err.Error(), `"`, `'`)+`"`)
			return writeMessage(w, http.StatusUnauthorized, "Unauthorized"), key
		}
		if err := localauth.RequireGroup(claims, localauth.OrganizersGroup); err != nil {
			return writeMessage(w, http.StatusForbidden, "Forbidden"), key
		}
		authz = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: stringClaims(claims),
				Scopes: scopes(claims),
			},
		}
	}

	ev := g.event(r, body, key, params, reqID, start)
	ev.RequestContext.Authorizer = authz
	payload, err := json.Marshal(ev)
	if err != nil {
		g.log.Error("encode event", "route", key, "err", err)
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), key
	}
	out, err := g.invoke(r.Context(), rt, reqID, payload)
	if errors.Is(err, lambdainvoke.ErrTimeout) {
		g.log.Warn("integration timeout", "route", key, "function", rt.route.Function, "requestId", reqID)
		return writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable"), key
	}
	if err != nil {
		g.log.Error("handler failed", "route", key, "function", rt.route.Function, "requestId", reqID, "err", err)
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), key
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		g.log.Error("malformed handler response", "route", key, "err", err)
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), key
	}
	status, err := writeResponse(w, resp)
	if err != nil {
		g.log.Error("malformed handler response", "route", key, "err", err)
	}
	return status, key
}

// invoke runs the handler on a JSON payload like the Lambda runtime: not cancelled when
// the client goes away (an accepted write finishes), bounded by the integration timeout.
func (g *Gateway) invoke(ctx context.Context, rt *route, reqID string, payload []byte) ([]byte, error) {
	return rt.fn.Invoke(context.WithoutCancel(ctx), reqID, payload)
}

func (g *Gateway) event(r *http.Request, body []byte, key string, params map[string]string, reqID string, now time.Time) events.APIGatewayV2HTTPRequest {
	sourceIP := apigwrequest.SourceIP(r)
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	headers["host"] = r.Host
	if r.ContentLength > 0 {
		headers["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	if xff := headers["x-forwarded-for"]; xff != "" {
		headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	domain := r.Host
	if h, p, err := net.SplitHostPort(r.Host); err == nil {
		domain, port = h, p
	}
	headers["x-forwarded-proto"] = proto
	headers["x-forwarded-port"] = port

	var query map[string]string
	if r.URL.RawQuery != "" {
		vals, _ := url.ParseQuery(r.URL.RawQuery) // keep what parses, like API Gateway
		if len(vals) > 0 {
			query = make(map[string]string, len(vals))
			for k, vs := range vals {
				query[k] = strings.Join(vs, ",")
			}
		}
	}
	prefix, _, _ := strings.Cut(domain, ".")

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              key,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     key,
			AccountID:    g.opts.AccountID,
			Stage:        "$default",
			RequestID:    reqID,
			APIID:        g.opts.APIID,
			DomainName:   domain,
			DomainPrefix: prefix,
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		// A text body that is not valid UTF-8 goes base64-encoded too: the invocation
		// is JSON, which would turn the bad bytes into U+FFFD and hide them from the
		// handler's strict decoding.
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText says whether API Gateway passes the body as text; everything else (including
// a missing content type and form posts) arrives base64-encoded.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript":
		return true
	}
	return false
}

// stringClaims renders claims the way the JWT authorizer does: every value a string,
// arrays as "[a b]".
func stringClaims(claims map[string]any) map[string]string {
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		switch x := v.(type) {
		case string:
			out[k] = x
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case json.Number:
			out[k] = x.String()
		case bool:
			out[k] = strconv.FormatBool(x)
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			out[k] = "[" + strings.Join(parts, " ") + "]"
		case []string:
			out[k] = "[" + strings.Join(x, " ") + "]"
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out
}

func scopes(claims map[string]any) []string {
	s, _ := claims["scope"].(string)
	return strings.Fields(s)
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) (int, error) {
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"),
			fmt.Errorf("status code %d out of range", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"),
				fmt.Errorf("base64 body: %w", err)
		}
		body = b
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode, nil
}

// writeMessage answers like API Gateway's own errors: {"message":"..."}.
func writeMessage(w http.ResponseWriter, status int, msg string) int {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()-1))
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return status
}
