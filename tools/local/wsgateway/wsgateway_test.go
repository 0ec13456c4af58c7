package wsgateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/local/wsgateway"
)

var connectionIDPattern = regexp.MustCompile(`^[A-Za-z0-9+/]{15}=$`)

// recorder is a set of route handlers that record every event they get.
type recorder struct {
	mu     sync.Mutex
	events []events.APIGatewayWebsocketProxyRequest
	seen   chan events.APIGatewayWebsocketProxyRequest
}

func newRecorder() *recorder {
	return &recorder{seen: make(chan events.APIGatewayWebsocketProxyRequest, 1000)}
}

func (r *recorder) handler(resp events.APIGatewayProxyResponse, err error) service.WebSocketHandler {
	return func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		r.mu.Lock()
		r.events = append(r.events, req)
		r.mu.Unlock()
		r.seen <- req
		return resp, err
	}
}

// next waits for the next recorded event.
func (r *recorder) next(t *testing.T) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	select {
	case ev := <-r.seen:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no route invoked within 5s")
		return events.APIGatewayWebsocketProxyRequest{}
	}
}

func (r *recorder) count(routeKey string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if ev.RequestContext.RouteKey == routeKey {
			n++
		}
	}
	return n
}

type env struct {
	gw  *wsgateway.Gateway
	srv *httptest.Server
	api *apigatewaymanagementapi.Client
	url string // ws:// URL of /ws
}

func newEnv(t testing.TB, routes []service.WebSocketRoute, opts wsgateway.Options) *env {
	t.Helper()
	gw, err := wsgateway.New(routes, opts)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/ws", gw)
	mux.Handle("/_aws/ws/", gw.ManagementHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, gw.Close(ctx))
		srv.Close()
	})
	api := apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(srv.URL + "/_aws/ws"),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	return &env{gw: gw, srv: srv, api: api, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}
}

func ok(body string) events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: body}
}

func standardRoutes(rec *recorder) []service.WebSocketRoute {
	return []service.WebSocketRoute{
		{Function: "ws-connect", RouteKey: "$connect", Handler: rec.handler(ok(""), nil)},
		{Function: "ws-disconnect", RouteKey: "$disconnect", Handler: rec.handler(ok(""), nil)},
		{Function: "ws-subscribe", RouteKey: "subscribe", Handler: rec.handler(ok(`{"type":"subscribed"}`), nil)},
		{Function: "ws-default", RouteKey: "$default", Handler: rec.handler(ok(""), nil)},
	}
}

func dial(t testing.TB, e *env, query string, header http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url+query, &websocket.DialOptions{HTTPHeader: header})
	require.NoError(t, err)
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func read(t testing.TB, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	require.NoError(t, err)
	return string(data)
}

func write(t testing.TB, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(msg)))
}

func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 5*time.Millisecond, msg)
}

func TestConnectionLifecycle(t *testing.T) {
	rec := newRecorder()
	e := newEnv(t, standardRoutes(rec), wsgateway.Options{})
	c := dial(t, e, "?token=abc&x=1&x=2", http.Header{"X-Test": {"yes"}, "User-Agent": {"ws-test/1"}})

	connect := rec.next(t)
	rc := connect.RequestContext
	require.Equal(t, "$connect", rc.RouteKey)
	require.Equal(t, "CONNECT", rc.EventType)
	require.Regexp(t, connectionIDPattern, rc.ConnectionID)
	require.Equal(t, "IN", rc.MessageDirection)
	require.Equal(t, wsgateway.DefaultStage, rc.Stage)
	require.Equal(t, wsgateway.DefaultAPIID, rc.APIID)
	require.NotEmpty(t, rc.RequestID)
	require.NotEmpty(t, rc.ExtendedRequestID)
	require.NotZero(t, rc.ConnectedAt)
	require.NotZero(t, rc.RequestTimeEpoch)
	require.Equal(t, strings.TrimPrefix(e.srv.URL, "http://"), rc.DomainName)
	require.Equal(t, "127.0.0.1", rc.Identity.SourceIP)
	require.Equal(t, "ws-test/1", rc.Identity.UserAgent)
	require.Equal(t, "yes", connect.Headers["X-Test"])
	require.Equal(t, []string{"yes"}, connect.MultiValueHeaders["X-Test"])
	require.Equal(t, "abc", connect.QueryStringParameters["token"])
	require.Equal(t, []string{"1", "2"}, connect.MultiValueQueryStringParameters["x"])
	require.Nil(t, rc.MessageID)
	id := rc.ConnectionID
	eventually(t, func() bool { return e.gw.Connections() == 1 }, "connection registered")
	require.Equal(t, []string{id}, e.gw.ConnectionIDs())

	tests := []struct {
		name      string
		send      string
		wantRoute string
		wantReply string
	}{
		{"action routes", `{"action":"subscribe","concertId":"c-1"}`, "subscribe", `{"type":"subscribed"}`},
		{"unknown action", `{"action":"dance"}`, "$default", ""},
		{"not json", `hello`, "$default", ""},
		{"non-string action", `{"action":1}`, "$default", ""},
		{"reserved key is not selectable", `{"action":"$disconnect"}`, "$default", ""},
		{"json array", `[1,2]`, "$default", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			write(t, c, tc.send)
			ev := rec.next(t)
			require.Equal(t, tc.wantRoute, ev.RequestContext.RouteKey, "got route %q want %q", ev.RequestContext.RouteKey, tc.wantRoute)
			require.Equal(t, "MESSAGE", ev.RequestContext.EventType)
			require.Equal(t, tc.send, ev.Body)
			require.Equal(t, id, ev.RequestContext.ConnectionID)
			require.NotNil(t, ev.RequestContext.MessageID)
			require.Equal(t, rc.ConnectedAt, ev.RequestContext.ConnectedAt)
			if tc.wantReply != "" {
				require.Equal(t, tc.wantReply, read(t, c))
			}
		})
	}

	require.NoError(t, c.Close(websocket.StatusNormalClosure, "bye"))
	disc := rec.next(t)
	require.Equal(t, "$disconnect", disc.RequestContext.RouteKey)
	require.Equal(t, "DISCONNECT", disc.RequestContext.EventType)
	require.Equal(t, id, disc.RequestContext.ConnectionID)
	require.EqualValues(t, 1000, disc.RequestContext.DisconnectStatusCode)
	eventually(t, func() bool { return e.gw.Connections() == 0 }, "connection forgotten")
	require.Equal(t, 1, rec.count("$disconnect"), "$disconnect must run exactly once")
}

func TestConnectRejection(t *testing.T) {
	tests := []struct {
		name       string
		resp       events.APIGatewayProxyResponse
		err        error
		wantStatus int
	}{
		{"unauthorized", events.APIGatewayProxyResponse{StatusCode: 401}, nil, 401},
		{"forbidden", events.APIGatewayProxyResponse{StatusCode: 403}, nil, 403},
		{"redirect is refused as forbidden", events.APIGatewayProxyResponse{StatusCode: 302}, nil, 403},
		{"handler error", events.APIGatewayProxyResponse{}, errors.New("boom"), 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			e := newEnv(t, []service.WebSocketRoute{
				{Function: "c", RouteKey: "$connect", Handler: rec.handler(tc.resp, tc.err)},
				{Function: "d", RouteKey: "$disconnect", Handler: rec.handler(ok(""), nil)},
			}, wsgateway.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, resp, err := websocket.Dial(ctx, e.url, nil)
			require.Error(t, err)
			require.NotNil(t, resp)
			require.Equal(t, tc.wantStatus, resp.StatusCode)
			require.Equal(t, 0, e.gw.Connections())
			require.Equal(t, 0, rec.count("$disconnect"), "no $disconnect for a rejected connect")
		})
	}
}

func TestPlainHTTPIsNotUpgraded(t *testing.T) {
	rec := newRecorder()
	e := newEnv(t, standardRoutes(rec), wsgateway.Options{})
	resp, err := http.Get(e.srv.URL + "/ws")
	require.NoError(t, err)
	resp.Body.Close()
	require.GreaterOrEqual(t, resp.StatusCode, 400)
	require.Equal(t, 0, rec.count("$connect"))
}

func TestRouteErrors(t *testing.T) {
	rec := newRecorder()
	e := newEnv(t, []service.WebSocketRoute{
		{Function: "boom", RouteKey: "boom", Handler: rec.handler(events.APIGatewayProxyResponse{}, errors.New("boom"))},
		{Function: "panic", RouteKey: "panic", Handler: func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			panic("bug")
		}},
	}, wsgateway.Options{})
	c := dial(t, e, "", nil)
	tests := []struct{ send, wantMessage string }{
		{`{"action":"boom"}`, "Internal server error"},
		{`{"action":"panic"}`, "Internal server error"},
		{`{"action":"nothing"}`, "Forbidden"}, // no $default route
	}
	for _, tc := range tests {
		t.Run(tc.send, func(t *testing.T) {
			write(t, c, tc.send)
			var got map[string]string
			require.NoError(t, json.Unmarshal([]byte(read(t, c)), &got))
			require.Equal(t, tc.wantMessage, got["message"])
			require.Regexp(t, connectionIDPattern, got["connectionId"])
			require.NotEmpty(t, got["requestId"])
		})
	}
	require.Equal(t, 1, e.gw.Connections(), "errors keep the connection open")
}

func TestManagementAPI(t *testing.T) {
	rec := newRecorder()
	e := newEnv(t, standardRoutes(rec), wsgateway.Options{})
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	c := dial(t, e, "", http.Header{"User-Agent": {"ws-test/2"}})
	id := rec.next(t).RequestContext.ConnectionID
	eventually(t, func() bool { return e.gw.Connections() == 1 }, "connection registered")

	t.Run("post", func(t *testing.T) {
		_, err := e.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(id), Data: []byte(`{"type":"concert.updated"}`),
		})
		require.NoError(t, err)
		require.Equal(t, `{"type":"concert.updated"}`, read(t, c))
	})
	t.Run("post the largest message", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), wsgateway.MaxMessageBytes)
		_, err := e.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: big})
		require.NoError(t, err)
		require.Equal(t, string(big), read(t, c))
	})
	t.Run("post too large", func(t *testing.T) {
		_, err := e.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(id), Data: make([]byte, wsgateway.MaxMessageBytes+1),
		})
		var tooLarge *types.PayloadTooLargeException
		require.ErrorAs(t, err, &tooLarge)
	})
	t.Run("get", func(t *testing.T) {
		out, err := e.api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		require.NoError(t, err)
		require.NotNil(t, out.ConnectedAt)
		require.NotNil(t, out.LastActiveAt)
		require.True(t, out.ConnectedAt.After(before), "got connectedAt %v", out.ConnectedAt)
		require.False(t, out.LastActiveAt.Before(*out.ConnectedAt))
		require.Equal(t, "127.0.0.1", aws.ToString(out.Identity.SourceIp))
		require.Equal(t, "ws-test/2", aws.ToString(out.Identity.UserAgent))
	})
	t.Run("delete", func(t *testing.T) {
		_, err := e.api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)})
		require.NoError(t, err)
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, _, err = c.Read(rctx)
		require.Equal(t, websocket.StatusNormalClosure, websocket.CloseStatus(err), "got %v", err)
		require.Equal(t, "$disconnect", rec.next(t).RequestContext.RouteKey)
	})
	gone := []struct {
		name string
		call func(id string) error
	}{
		{"post", func(id string) error {
			_, err := e.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")})
			return err
		}},
		{"get", func(id string) error {
			_, err := e.api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
			return err
		}},
		{"delete", func(id string) error {
			_, err := e.api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)})
			return err
		}},
	}
	for _, tc := range gone {
		for _, target := range []string{id, "L0SM9cOFvHcCIhw="} {
			t.Run(tc.name+" gone "+target, func(t *testing.T) {
				err := tc.call(target)
				var goneErr *types.GoneException
				require.ErrorAs(t, err, &goneErr, "got %v want GoneException", err)
			})
		}
	}
	require.Equal(t, 1, rec.count("$disconnect"))
}

func TestManagementHandlerRawHTTP(t *testing.T) {
	e := newEnv(t, nil, wsgateway.Options{})
	tests := []struct {
		method, path string
		wantStatus   int
		wantType     string
	}{
		{"GET", "/_aws/ws/@connections/nope=", http.StatusGone, "GoneException"},
		{"PUT", "/_aws/ws/@connections/nope=", http.StatusMethodNotAllowed, "MethodNotAllowedException"},
		{"GET", "/_aws/ws/other", http.StatusNotFound, "NotFoundException"},
		{"GET", "/_aws/ws/@connections/", http.StatusBadRequest, "BadRequestException"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tc.wantStatus, resp.StatusCode)
			require.Equal(t, tc.wantType, resp.Header.Get("X-Amzn-ErrorType"))
		})
	}
}

func TestConcurrentPostsAreNotInterleaved(t *testing.T) {
	rec := newRecorder()
	e := newEnv(t, standardRoutes(rec), wsgateway.Options{})
	c := dial(t, e, "", nil)
	id := rec.next(t).RequestContext.ConnectionID
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			// 64 KB messages span two frames each: interleaved frames would corrupt them.
			msg := bytes.Repeat([]byte{byte('a' + i)}, 64<<10)
			_, err := e.api.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: msg})
			errs <- err
		})
	}
	got := map[byte]bool{}
	for range n {
		msg := read(t, c)
		require.Len(t, msg, 64<<10)
		require.Equal(t, strings.Repeat(msg[:1], len(msg)), msg, "message mixed with another one")
		got[msg[0]] = true
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, got, n)
}

func TestMessageSizeLimits(t *testing.T) {
	// fragmented sends size bytes as API Gateway clients must: in frames of at most frame bytes.
	fragmented := func(size, frame int) func(ctx context.Context, c *websocket.Conn) error {
		return func(ctx context.Context, c *websocket.Conn) error {
			w, err := c.Writer(ctx, websocket.MessageText)
			if err != nil {
				return err
			}
			chunk := bytes.Repeat([]byte("y"), frame)
			for left := size; left > 0; left -= len(chunk) {
				if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
					return err
				}
			}
			return w.Close()
		}
	}
	single := func(size int) func(ctx context.Context, c *websocket.Conn) error {
		return func(ctx context.Context, c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("y"), size))
		}
	}
	tests := []struct {
		name     string
		send     func(ctx context.Context, c *websocket.Conn) error
		size     int
		tooLarge bool
	}{
		{name: "one full frame", send: single(wsgateway.FrameBytes), size: wsgateway.FrameBytes},
		{name: "largest message in 32 KB frames", send: fragmented(wsgateway.MaxMessageBytes, wsgateway.FrameBytes), size: wsgateway.MaxMessageBytes},
		{name: "largest message in small frames", send: fragmented(wsgateway.MaxMessageBytes, 1000), size: wsgateway.MaxMessageBytes},
		{name: "frame over 32 KB", send: single(wsgateway.FrameBytes + 1), tooLarge: true},
		{name: "frame with 64-bit length", send: single(200 << 10), tooLarge: true},
		{name: "message over 128 KB in 32 KB frames", send: fragmented(wsgateway.MaxMessageBytes+1, wsgateway.FrameBytes), tooLarge: true},
		{name: "oversized frame after fragments", send: func(ctx context.Context, c *websocket.Conn) error {
			w, err := c.Writer(ctx, websocket.MessageText)
			if err != nil {
				return err
			}
			if _, err := w.Write(make([]byte, 1000)); err != nil {
				return err
			}
			if _, err := w.Write(make([]byte, wsgateway.FrameBytes+1)); err != nil {
				return err
			}
			return w.Close()
		}, tooLarge: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			e := newEnv(t, standardRoutes(rec), wsgateway.Options{})
			c := dial(t, e, "", nil)
			id := rec.next(t).RequestContext.ConnectionID
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := tc.send(ctx, c)
			if !tc.tooLarge {
				require.NoError(t, err)
				ev := rec.next(t)
				require.Equal(t, "$default", ev.RequestContext.RouteKey)
				require.Len(t, ev.Body, tc.size)
				write(t, c, "still open")
				require.Equal(t, "still open", rec.next(t).Body)
				return
			}
			_, _, err = c.Read(ctx)
			require.Equal(t, websocket.StatusMessageTooBig, websocket.CloseStatus(err), "got %v want close 1009", err)
			disc := rec.next(t)
			require.Equal(t, "$disconnect", disc.RequestContext.RouteKey)
			require.Equal(t, id, disc.RequestContext.ConnectionID)
			require.EqualValues(t, 1009, disc.RequestContext.DisconnectStatusCode)
			require.Equal(t, 0, rec.count("$default"), "no part of an oversized message reaches a route")
		})
	}
}

func TestTimeouts(t *testing.T) {
	tests := []struct {
		name      string
		opts      wsgateway.Options
		keepAlive bool
	}{
		{"idle", wsgateway.Options{IdleTimeout: 300 * time.Millisecond}, false},
		{"max duration despite activity", wsgateway.Options{MaxDuration: 500 * time.Millisecond}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			e := newEnv(t, standardRoutes(rec), tc.opts)
			c := dial(t, e, "", nil)
			rec.next(t) // $connect
			stop := make(chan struct{})
			defer close(stop)
			if tc.keepAlive {
				go func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(50 * time.Millisecond):
							_ = c.Write(context.Background(), websocket.MessageText, []byte("ping"))
						}
					}
				}()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var err error
			for err == nil {
				_, _, err = c.Read(ctx)
			}
			require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "got %v want close 1001", err)
			eventually(t, func() bool { return rec.count("$disconnect") == 1 }, "$disconnect after timeout")
			require.Equal(t, 0, e.gw.Connections())
		})
	}
}

func TestIdleTimerResetByActivity(t *testing.T) {
	tests := []struct {
		name  string
		touch func(t *testing.T, c *websocket.Conn)
	}{
		{"messages", func(t *testing.T, c *websocket.Conn) { write(t, c, "hi") }},
		{"pings", func(t *testing.T, c *websocket.Conn) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, c.Ping(ctx))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			e := newEnv(t, standardRoutes(rec), wsgateway.Options{IdleTimeout: 600 * time.Millisecond})
			c := dial(t, e, "", nil)
			rec.next(t)
			go func() { // the client must read for pongs to arrive
				for {
					if _, _, err := c.Read(context.Background()); err != nil {
						return
					}
				}
			}()
			// Twelve touches 100 ms apart span 1.2 s, twice the idle timeout.
			for range 12 {
				time.Sleep(100 * time.Millisecond)
				tc.touch(t, c)
			}
			require.Equal(t, 0, rec.count("$disconnect"), "an active connection must not idle out")
			require.Equal(t, 1, e.gw.Connections())
		})
	}
}

func TestDeadClientEventuallyGone(t *testing.T) {
	rec := newRecorder()
	e := newEnv(t, standardRoutes(rec), wsgateway.Options{WriteTimeout: 100 * time.Millisecond})
	_ = dial(t, e, "", nil) // never reads: its socket buffers fill up like a dead peer's
	id := rec.next(t).RequestContext.ConnectionID
	msg := bytes.Repeat([]byte("z"), wsgateway.MaxMessageBytes)
	var err error
	for i := 0; i < 2000 && err == nil; i++ {
		_, err = e.api.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: msg})
	}
	var gone *types.GoneException
	require.ErrorAs(t, err, &gone, "got %v want GoneException once writes stall", err)
	eventually(t, func() bool { return e.gw.Connections() == 0 }, "dead connection dropped")
	eventually(t, func() bool { return rec.count("$disconnect") == 1 }, "dead connection disconnected once")
}

func TestCloseDisconnectsEveryone(t *testing.T) {
	rec := newRecorder()
	gw, err := wsgateway.New(standardRoutes(rec), wsgateway.Options{})
	require.NoError(t, err)
	srv := httptest.NewServer(gw)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	conns := make([]*websocket.Conn, 3)
	for i := range conns {
		c, _, err := websocket.Dial(context.Background(), url, nil)
		require.NoError(t, err)
		defer c.CloseNow()
		conns[i] = c
		go func() { _, _, _ = c.Read(context.Background()) }() // answer the close handshake
	}
	eventually(t, func() bool { return gw.Connections() == 3 }, "three connections")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, gw.Close(ctx))
	require.Equal(t, 3, rec.count("$disconnect"))
	require.Equal(t, 0, gw.Connections())
	_, resp, err := websocket.Dial(ctx, url, nil)
	require.Error(t, err, "a closed gateway refuses connections")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestNewRejectsBadRoutes(t *testing.T) {
	h := func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		return ok(""), nil
	}
	tests := []struct {
		name   string
		routes []service.WebSocketRoute
	}{
		{"empty key", []service.WebSocketRoute{{Function: "f", Handler: h}}},
		{"space in key", []service.WebSocketRoute{{Function: "f", RouteKey: "a b", Handler: h}}},
		{"nil handler", []service.WebSocketRoute{{Function: "f", RouteKey: "a"}}},
		{"duplicate", []service.WebSocketRoute{{Function: "f", RouteKey: "a", Handler: h}, {Function: "g", RouteKey: "a", Handler: h}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wsgateway.New(tc.routes, wsgateway.Options{})
			require.Error(t, err)
		})
	}
}
