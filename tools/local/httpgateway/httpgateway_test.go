package httpgateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/local/httpgateway"
	"github.com/concertsys/tools/local/localauth"
)

// echo answers with the event it received, so tests see the exact payload.
func echo(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}, nil
}

func route(key string) service.HTTPRoute {
	return service.HTTPRoute{Function: "fn", RouteKey: key, Handler: echo}
}

func newServer(t *testing.T, routes []service.HTTPRoute, opts httpgateway.Options) *httptest.Server {
	t.Helper()
	gw, err := httpgateway.New(routes, opts)
	require.NoError(t, err)
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv
}

type result struct {
	status int
	header http.Header
	body   []byte
	event  events.APIGatewayV2HTTPRequest
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	res := result{status: resp.StatusCode, header: resp.Header, body: body}
	if resp.StatusCode == 200 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &res.event)
	}
	return res
}

func newRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	return req
}

func TestRouteSelection(t *testing.T) {
	srv := newServer(t, []service.HTTPRoute{
		route("GET /concerts"),
		route("POST /concerts"),
		route("GET /concerts/{id}"),
		route("GET /concerts/special"),
		route("POST /concerts/{id}/tickets"),
		route("ANY /concerts/{id}/events"),
		route("GET /concerts/{id}/events"),
		route("GET /files/{proxy+}"),
		route("GET /"),
		route("$default"),
	}, httpgateway.Options{})
	tests := []struct {
		method, path string
		wantRoute    string
		wantParams   map[string]string
	}{
		{"GET", "/concerts", "GET /concerts", nil},
		{"POST", "/concerts", "POST /concerts", nil},
		{"GET", "/concerts/c-1", "GET /concerts/{id}", map[string]string{"id": "c-1"}},
		{"GET", "/concerts/special", "GET /concerts/special", nil},
		{"GET", "/concerts/a%20b", "GET /concerts/{id}", map[string]string{"id": "a b"}},
		{"POST", "/concerts/c-1/tickets", "POST /concerts/{id}/tickets", map[string]string{"id": "c-1"}},
		{"GET", "/concerts/c-1/events", "GET /concerts/{id}/events", map[string]string{"id": "c-1"}},
		{"DELETE", "/concerts/c-1/events", "ANY /concerts/{id}/events", map[string]string{"id": "c-1"}},
		{"GET", "/files/a/b/c.txt", "GET /files/{proxy+}", map[string]string{"proxy": "a/b/c.txt"}},
		{"GET", "/files", "$default", nil},
		{"GET", "/", "GET /", nil},
		{"PUT", "/concerts", "$default", nil},
		{"GET", "/concerts/c-1/", "$default", nil},
		{"GET", "/nowhere", "$default", nil},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := do(t, newRequest(t, tc.method, srv.URL+tc.path, nil))
			require.Equal(t, 200, res.status, "body %s", res.body)
			require.Equal(t, tc.wantRoute, res.event.RouteKey, "got route %q want %q", res.event.RouteKey, tc.wantRoute)
			require.Equal(t, tc.wantRoute, res.event.RequestContext.RouteKey)
			require.Equal(t, tc.wantParams, res.event.PathParameters)
		})
	}
}

func TestNoRouteIsNotFound(t *testing.T) {
	srv := newServer(t, []service.HTTPRoute{route("GET /concerts/{id}")}, httpgateway.Options{})
	for _, path := range []string{"/", "/concerts", "/concerts/a/b", "/concerts/"} {
		t.Run(path, func(t *testing.T) {
			res := do(t, newRequest(t, "GET", srv.URL+path, nil))
			require.Equal(t, http.StatusNotFound, res.status)
			require.JSONEq(t, `{"message":"Not Found"}`, string(res.body))
			require.NotEmpty(t, res.header.Get("Apigw-Requestid"))
		})
	}
}

func TestEventPayload(t *testing.T) {
	srv := newServer(t, []service.HTTPRoute{route("POST /concerts/{id}/tickets")}, httpgateway.Options{})
	req := newRequest(t, "POST", srv.URL+"/concerts/c-9/tickets?x=1&x=2&y=%20z", strings.NewReader(`{"quantity":2}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	req.Header.Set("User-Agent", "gw-test/1")
	req.Header.Add("Cookie", "session=abc; theme=dark")
	before := time.Now()
	res := do(t, req)
	require.Equal(t, 200, res.status, "body %s", res.body)
	ev := res.event
	require.Equal(t, "2.0", ev.Version)
	require.Equal(t, "POST /concerts/{id}/tickets", ev.RouteKey)
	require.Equal(t, "/concerts/c-9/tickets", ev.RawPath)
	require.Equal(t, "x=1&x=2&y=%20z", ev.RawQueryString)
	require.Equal(t, map[string]string{"x": "1,2", "y": " z"}, ev.QueryStringParameters)
	require.Equal(t, map[string]string{"id": "c-9"}, ev.PathParameters)
	require.Equal(t, []string{"session=abc", "theme=dark"}, ev.Cookies)
	require.Equal(t, "a,b", ev.Headers["x-multi"])
	require.Equal(t, "application/json; charset=utf-8", ev.Headers["content-type"])
	require.Equal(t, "14", ev.Headers["content-length"])
	require.Equal(t, "127.0.0.1", ev.Headers["x-forwarded-for"])
	require.Equal(t, "http", ev.Headers["x-forwarded-proto"])
	require.NotContains(t, ev.Headers, "cookie")
	for k := range ev.Headers {
		require.Equal(t, strings.ToLower(k), k, "header names must be lower case")
	}
	require.Equal(t, `{"quantity":2}`, ev.Body)
	require.False(t, ev.IsBase64Encoded)

	rc := ev.RequestContext
	require.Equal(t, httpgateway.DefaultAccountID, rc.AccountID)
	require.Equal(t, httpgateway.DefaultAPIID, rc.APIID)
	require.Equal(t, "$default", rc.Stage)
	require.Equal(t, "127.0.0.1", rc.DomainName)
	require.Equal(t, "127", rc.DomainPrefix)
	require.Len(t, rc.RequestID, 16)
	require.True(t, strings.HasSuffix(rc.RequestID, "="))
	require.Equal(t, res.header.Get("Apigw-Requestid"), rc.RequestID)
	require.Equal(t, "POST", rc.HTTP.Method)
	require.Equal(t, "/concerts/c-9/tickets", rc.HTTP.Path)
	require.Equal(t, "HTTP/1.1", rc.HTTP.Protocol)
	require.Equal(t, "127.0.0.1", rc.HTTP.SourceIP)
	require.Equal(t, "gw-test/1", rc.HTTP.UserAgent)
	require.InDelta(t, before.UnixMilli(), rc.TimeEpoch, 5000)
	_, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.Time)
	require.NoError(t, err, "got time %q", rc.Time)
	require.Nil(t, rc.Authorizer)
}

func TestBodyEncoding(t *testing.T) {
	srv := newServer(t, []service.HTTPRoute{route("POST /b")}, httpgateway.Options{})
	binary := []byte{0xff, 0x00, 0x10, 'a'}
	tests := []struct {
		contentType string
		body        []byte
		wantBase64  bool
	}{
		{"application/json", []byte(`{"a":1}`), false},
		{"application/problem+json", []byte(`{"a":1}`), false},
		{"text/plain; charset=utf-8", []byte("hi"), false},
		{"application/xml", []byte("<a/>"), false},
		{"application/octet-stream", binary, true},
		{"image/png", binary, true},
		{"application/x-www-form-urlencoded", []byte("a=1"), true},
		{"", []byte("no type"), true},
		{"application/json; invalid UTF-8", []byte("{\"a\":\"\xff\"}"), true},
	}
	for _, tc := range tests {
		t.Run(tc.contentType, func(t *testing.T) {
			tc.contentType, _, _ = strings.Cut(tc.contentType, "; invalid")
			req := newRequest(t, "POST", srv.URL+"/b", bytes.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			res := do(t, req)
			require.Equal(t, 200, res.status)
			require.Equal(t, tc.wantBase64, res.event.IsBase64Encoded)
			got := []byte(res.event.Body)
			if tc.wantBase64 {
				var err error
				got, err = base64.StdEncoding.DecodeString(res.event.Body)
				require.NoError(t, err)
			}
			require.Equal(t, tc.body, got)
		})
	}
}

func TestResponseMapping(t *testing.T) {
	respond := func(resp events.APIGatewayV2HTTPResponse, err error) service.HTTPHandler {
		return func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return resp, err
		}
	}
	tests := []struct {
		name       string
		handler    service.HTTPHandler
		wantStatus int
		wantBody   string
		check      func(t *testing.T, h http.Header)
	}{
		{
			name: "headers cookies status",
			handler: respond(events.APIGatewayV2HTTPResponse{
				StatusCode:        201,
				Headers:           map[string]string{"Location": "/concerts/1", "Content-Type": "application/json"},
				MultiValueHeaders: map[string][]string{"X-Multi": {"a", "b"}},
				Cookies:           []string{"a=1; Path=/", "b=2"},
				Body:              `{"id":"1"}`,
			}, nil),
			wantStatus: 201,
			wantBody:   `{"id":"1"}`,
			check: func(t *testing.T, h http.Header) {
				require.Equal(t, "/concerts/1", h.Get("Location"))
				require.Equal(t, []string{"a", "b"}, h.Values("X-Multi"))
				require.Equal(t, []string{"a=1; Path=/", "b=2"}, h.Values("Set-Cookie"))
			},
		},
		{
			name: "base64 body",
			handler: respond(events.APIGatewayV2HTTPResponse{
				StatusCode: 200, IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString([]byte{1, 2, 3}),
				Headers: map[string]string{"Content-Type": "application/octet-stream"},
			}, nil),
			wantStatus: 200,
			wantBody:   "\x01\x02\x03",
		},
		{
			name:       "handler error",
			handler:    respond(events.APIGatewayV2HTTPResponse{}, errors.New("boom")),
			wantStatus: 500,
			wantBody:   `{"message":"Internal Server Error"}`,
		},
		{
			name: "handler panic",
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				panic("bug")
			},
			wantStatus: 500,
			wantBody:   `{"message":"Internal Server Error"}`,
		},
		{
			name:       "missing status code",
			handler:    respond(events.APIGatewayV2HTTPResponse{Body: "x"}, nil),
			wantStatus: 500,
			wantBody:   `{"message":"Internal Server Error"}`,
		},
		{
			name:       "invalid base64",
			handler:    respond(events.APIGatewayV2HTTPResponse{StatusCode: 200, IsBase64Encoded: true, Body: "!!"}, nil),
			wantStatus: 500,
			wantBody:   `{"message":"Internal Server Error"}`,
		},
		{
			name:       "problem passes through",
			handler:    respond(events.APIGatewayV2HTTPResponse{StatusCode: 409, Headers: map[string]string{"Content-Type": "application/problem+json"}, Body: `{"status":409}`}, nil),
			wantStatus: 409,
			wantBody:   `{"status":409}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, []service.HTTPRoute{{Function: "f", RouteKey: "GET /x", Handler: tc.handler}}, httpgateway.Options{})
			res := do(t, newRequest(t, "GET", srv.URL+"/x", nil))
			require.Equal(t, tc.wantStatus, res.status, "got body %s", res.body)
			require.Equal(t, tc.wantBody, string(res.body))
			if tc.check != nil {
				tc.check(t, res.header)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	slow := func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		<-ctx.Done() // a handler stuck until the integration gives up
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	}
	srv := newServer(t, []service.HTTPRoute{
		route("POST /upload"),
		{Function: "slow", RouteKey: "GET /slow", Handler: slow},
	}, httpgateway.Options{MaxBodyBytes: 1024, IntegrationTimeout: 50 * time.Millisecond})

	t.Run("body at the limit passes", func(t *testing.T) {
		req := newRequest(t, "POST", srv.URL+"/upload", bytes.NewReader(bytes.Repeat([]byte("a"), 1024)))
		req.Header.Set("Content-Type", "text/plain")
		require.Equal(t, 200, do(t, req).status)
	})
	t.Run("body over the limit is 413", func(t *testing.T) {
		res := do(t, newRequest(t, "POST", srv.URL+"/upload", bytes.NewReader(bytes.Repeat([]byte("a"), 1025))))
		require.Equal(t, http.StatusRequestEntityTooLarge, res.status)
		require.JSONEq(t, `{"message":"Request Entity Too Large"}`, string(res.body))
	})
	t.Run("integration timeout is 503", func(t *testing.T) {
		res := do(t, newRequest(t, "GET", srv.URL+"/slow", nil))
		require.Equal(t, http.StatusServiceUnavailable, res.status)
		require.JSONEq(t, `{"message":"Service Unavailable"}`, string(res.body))
	})
	require.EqualValues(t, 10<<20, httpgateway.DefaultMaxBodyBytes)
	require.Equal(t, 30*time.Second, httpgateway.DefaultIntegrationTimeout)
}

func TestDefaultBodyLimit(t *testing.T) {
	srv := newServer(t, []service.HTTPRoute{route("POST /upload")}, httpgateway.Options{})
	res := do(t, newRequest(t, "POST", srv.URL+"/upload", bytes.NewReader(make([]byte, 10<<20+1))))
	require.Equal(t, http.StatusRequestEntityTooLarge, res.status)
}

func TestLambdaContext(t *testing.T) {
	var got *lambdacontext.LambdaContext
	var deadline time.Time
	h := func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got, _ = lambdacontext.FromContext(ctx)
		deadline, _ = ctx.Deadline()
		return events.APIGatewayV2HTTPResponse{StatusCode: 204}, nil
	}
	srv := newServer(t, []service.HTTPRoute{{Function: "get-concert", RouteKey: "GET /x", Handler: h}}, httpgateway.Options{})
	res := do(t, newRequest(t, "GET", srv.URL+"/x", nil))
	require.Equal(t, 204, res.status)
	require.NotNil(t, got)
	require.Equal(t, res.header.Get("Apigw-Requestid"), got.AwsRequestID)
	require.True(t, strings.HasSuffix(got.InvokedFunctionArn, ":function:get-concert"), "got arn %q", got.InvokedFunctionArn)
	require.False(t, deadline.IsZero(), "handlers get the integration timeout as deadline")
}

func TestAuthorizer(t *testing.T) {
	iss, err := localauth.New()
	require.NoError(t, err)
	otherIss, err := localauth.New()
	require.NoError(t, err)
	organizer, err := iss.Token("org-1", []string{"fans", localauth.OrganizersGroup}, time.Hour)
	require.NoError(t, err)
	fan, err := iss.Token("fan-1", []string{"fans"}, time.Hour)
	require.NoError(t, err)
	foreign, err := otherIss.Token("org-1", []string{localauth.OrganizersGroup}, time.Hour)
	require.NoError(t, err)

	routes := []service.HTTPRoute{
		{Function: "w", RouteKey: "POST /concerts", Access: service.Organizers, Handler: echo},
		{Function: "r", RouteKey: "GET /concerts", Access: service.Public, Handler: echo},
	}
	withAuth := newServer(t, routes, httpgateway.Options{Authorizer: iss.Verifier()})
	noAuth := newServer(t, routes, httpgateway.Options{})

	tests := []struct {
		name          string
		srv           *httptest.Server
		method        string
		authorization string
		wantStatus    int
		wantBody      string
	}{
		{name: "no token", srv: withAuth, method: "POST", wantStatus: 401, wantBody: `{"message":"Unauthorized"}`},
		{name: "garbage token", srv: withAuth, method: "POST", authorization: "Bearer nope", wantStatus: 401, wantBody: `{"message":"Unauthorized"}`},
		{name: "foreign key", srv: withAuth, method: "POST", authorization: "Bearer " + foreign, wantStatus: 401, wantBody: `{"message":"Unauthorized"}`},
		{name: "not an organizer", srv: withAuth, method: "POST", authorization: "Bearer " + fan, wantStatus: 403, wantBody: `{"message":"Forbidden"}`},
		{name: "organizer", srv: withAuth, method: "POST", authorization: "Bearer " + organizer, wantStatus: 200},
		{name: "organizer bare token", srv: withAuth, method: "POST", authorization: organizer, wantStatus: 200},
		{name: "public route without token", srv: withAuth, method: "GET", wantStatus: 200},
		{name: "auth off", srv: noAuth, method: "POST", wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, tc.method, tc.srv.URL+"/concerts", strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			res := do(t, req)
			require.Equal(t, tc.wantStatus, res.status, "got body %s", res.body)
			if tc.wantBody != "" {
				require.JSONEq(t, tc.wantBody, string(res.body))
			}
			if tc.wantStatus == 401 {
				require.Contains(t, res.header.Get("Www-Authenticate"), "Bearer")
			}
		})
	}

	t.Run("claims reach the handler like the JWT authorizer renders them", func(t *testing.T) {
		req := newRequest(t, "POST", withAuth.URL+"/concerts", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+organizer)
		res := do(t, req)
		require.Equal(t, 200, res.status)
		jwt := res.event.RequestContext.Authorizer.JWT
		require.Equal(t, "org-1", jwt.Claims["sub"])
		require.Equal(t, "[fans organizers]", jwt.Claims["cognito:groups"])
		require.Regexp(t, `^[0-9]+$`, jwt.Claims["exp"])
		require.Equal(t, []string{"aws.cognito.signin.user.admin"}, jwt.Scopes)
	})
}

func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	srv := newServer(t, []service.HTTPRoute{route("GET /concerts/{id}")}, httpgateway.Options{
		Logger: slog.New(slog.NewJSONHandler(&buf, nil)),
	})
	require.Equal(t, 200, do(t, newRequest(t, "GET", srv.URL+"/concerts/7", nil)).status)
	require.Equal(t, 404, do(t, newRequest(t, "GET", srv.URL+"/other", nil)).status)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	var first, second map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &second))
	require.Equal(t, "GET", first["method"])
	require.Equal(t, "/concerts/7", first["path"])
	require.Equal(t, "GET /concerts/{id}", first["route"])
	require.EqualValues(t, 200, first["status"])
	require.Contains(t, first, "duration")
	require.EqualValues(t, 404, second["status"])
}

func TestNewRejectsBadRoutes(t *testing.T) {
	tests := []struct {
		name   string
		routes []service.HTTPRoute
	}{
		{"no method", []service.HTTPRoute{route("/concerts")}},
		{"lower case method", []service.HTTPRoute{route("get /concerts")}},
		{"relative path", []service.HTTPRoute{route("GET concerts")}},
		{"empty segment", []service.HTTPRoute{route("GET /a//b")}},
		{"greedy not last", []service.HTTPRoute{route("GET /{p+}/x")}},
		{"partial parameter", []service.HTTPRoute{route("GET /a{id}")}},
		{"repeated parameter", []service.HTTPRoute{route("GET /{id}/{id}")}},
		{"duplicate", []service.HTTPRoute{route("GET /a"), route("GET /a")}},
		{"nil handler", []service.HTTPRoute{{Function: "f", RouteKey: "GET /a"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := httpgateway.New(tc.routes, httpgateway.Options{})
			require.Error(t, err)
		})
	}
}

func TestConcurrentRequestsGetTheirOwnResponses(t *testing.T) {
	srv := newServer(t, []service.HTTPRoute{route("GET /concerts/{id}")}, httpgateway.Options{})
	const n = 50
	errs := make(chan error, n)
	for i := range n {
		go func() {
			id := strings.Repeat(string(rune('a'+i%26)), 1+i)
			resp, err := http.Get(srv.URL + "/concerts/" + id)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var ev events.APIGatewayV2HTTPRequest
			if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
				errs <- err
				return
			}
			if got := ev.PathParameters["id"]; got != id {
				errs <- fmt.Errorf("got id %q want %q", got, id)
				return
			}
			errs <- nil
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
}
