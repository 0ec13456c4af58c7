// Package wsgateway emulates an API Gateway WebSocket API in front of
// service.WebSocketRoute handlers, plus its management API (@connections) for the
// AWS SDK's apigatewaymanagementapi client.
//
// Every route invocation is a real events.APIGatewayWebsocketProxyRequest serialised to
// JSON and passed through aws-lambda-go's handler adapter, as on AWS. Emulated
// behaviour: API Gateway-style connection ids; route selection on $request.body.action
// (non-JSON, unknown action -> $default; no $default -> {"message":"Forbidden",...});
// $connect answering non-2xx rejects the handshake with that status (a handler error
// with 500); a non-empty response body of a message route is sent back to the client
// (the emulator treats every route as having a $default route response, so deploy
// routes that return a body with one); a handler error sends {"message":"Internal server
// error",...}; $disconnect runs exactly once per connection, however it ends.
// Quotas: 32 KB frames and 128 KB messages (a larger incoming frame or message closes
// the connection with 1009; outgoing messages are split into 32 KB frames), 10 min
// idle timeout (client messages and pings count as activity), 2 h connection
// duration, 29 s integration timeout.
//
// Messages of one connection are handled one after another (API Gateway gives no
// ordering guarantee, so handlers must not rely on concurrency either way).
package wsgateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/local/apigwrequest"
	"github.com/concertsys/tools/local/lambdainvoke"
)

// Reserved route keys.
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
)

// API Gateway WebSocket API quotas.
const (
	MaxMessageBytes           = 128 << 10
	FrameBytes                = 32 << 10
	DefaultIdleTimeout        = 10 * time.Minute
	DefaultMaxDuration        = 2 * time.Hour
	DefaultIntegrationTimeout = 29 * time.Second
	// DefaultWriteTimeout bounds one PostToConnection write, so a client that stopped
	// reading is detected and dropped (later posts get 410).
	DefaultWriteTimeout = 10 * time.Second
	// Defaults of Options.MaxConnections and MaxConnectionsPerClient.
	DefaultMaxConnections          = 1000
	DefaultMaxConnectionsPerClient = 500
	DefaultAPIID                   = "devstackws"
	DefaultAccountID               = "000000000000"
	DefaultStage                   = "local"
	DefaultRegion                  = "us-east-1"
)

// Options configure a Gateway; the zero value uses API Gateway's quotas.
type Options struct {
	Logger             *slog.Logger
	APIID              string
	AccountID          string
	Region             string
	Stage              string
	IdleTimeout        time.Duration
	MaxDuration        time.Duration
	IntegrationTimeout time.Duration
	WriteTimeout       time.Duration
	// MaxConnections bounds the connections open (or opening) at once, and
	// MaxConnectionsPerClient those from one client address (defaults
	// DefaultMaxConnections and DefaultMaxConnectionsPerClient). Beyond either the
	// upgrade is refused with 429 and a JSON body saying which, before $connect
	// runs. API Gateway bounds WebSocket connections too, by account quotas (new
	// connections per second); a local gateway on a developer's machine bounds the
	// total instead, so no page or script can exhaust memory and file descriptors.
	MaxConnections          int
	MaxConnectionsPerClient int
}

type route struct {
	route service.WebSocketRoute
	fn    *lambdainvoke.Function
}

// Gateway serves the WebSocket endpoint (ServeHTTP, mount at /ws) and keeps the live
// connections for the management API (ManagementHandler, mount at /_aws/ws).
type Gateway struct {
	routes map[string]route
	opts   Options
	log    *slog.Logger

	mu      sync.Mutex
	conns   map[string]*conn
	closed  bool
	open    int            // connections open or opening, for MaxConnections
	perIP   map[string]int // the same by client address
	refused atomic.Int64   // upgrades refused by the caps
	active  sync.WaitGroup // running connection loops
}

var _ http.Handler = (*Gateway)(nil)

// New validates the routes (unique keys, handlers set) and builds the gateway.
func New(routes []service.WebSocketRoute, opts Options) (*Gateway, error) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&opts.APIID, DefaultAPIID)
	def(&opts.AccountID, DefaultAccountID)
	def(&opts.Region, DefaultRegion)
	def(&opts.Stage, DefaultStage)
	defd := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defd(&opts.IdleTimeout, DefaultIdleTimeout)
	defd(&opts.MaxDuration, DefaultMaxDuration)
	defd(&opts.IntegrationTimeout, DefaultIntegrationTimeout)
	defd(&opts.WriteTimeout, DefaultWriteTimeout)
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = DefaultMaxConnections
	}
	if opts.MaxConnectionsPerClient <= 0 {
		opts.MaxConnectionsPerClient = DefaultMaxConnectionsPerClient
	}
	g := &Gateway{routes: map[string]route{}, opts: opts, log: opts.Logger, conns: map[string]*conn{}, perIP: map[string]int{}}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	for _, r := range routes {
		if r.RouteKey == "" || strings.ContainsAny(r.RouteKey, " \t\n") {
			return nil, fmt.Errorf("function %s: invalid route key %q", r.Function, r.RouteKey)
		}
		if r.Handler == nil {
			return nil, fmt.Errorf("function %s: route %q has no handler", r.Function, r.RouteKey)
		}
		if prev, dup := g.routes[r.RouteKey]; dup {
			return nil, fmt.Errorf("route %q declared by %s and %s", r.RouteKey, prev.route.Function, r.Function)
		}
		g.routes[r.RouteKey] = route{route: r, fn: lambdainvoke.New(r.Function, lambdainvoke.ARN(g.opts.Region, g.opts.AccountID, r.Function), r.Handler, g.opts.IntegrationTimeout)}
	}
	return g, nil
}

// Connections is the number of open connections.
func (g *Gateway) Connections() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.conns {
		if c.isOpen() {
			n++
		}
	}
	return n
}

func (c *conn) isOpen() bool {
	select {
	case <-c.ready:
		return c.ws != nil
	default:
		return false
	}
}

// ConnectionIDs lists the open connections' ids.
func (g *Gateway) ConnectionIDs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ids := make([]string, 0, len(g.conns))
	for id, c := range g.conns {
		if c.isOpen() {
			ids = append(ids, id)
		}
	}
	return ids
}

// Close refuses new connections, closes open ones (1001 Going Away), and waits until
// their $disconnect handlers have run or ctx ends.
func (g *Gateway) Close(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	open := make([]*conn, 0, len(g.conns))
	for _, c := range g.conns {
		if c.isOpen() {
			open = append(open, c)
		}
	}
	g.mu.Unlock()
	for _, c := range open {
		c.close(websocket.StatusGoingAway, "Going away")
	}
	done := make(chan struct{})
	go func() { g.active.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close websocket gateway: %w", ctx.Err())
	}
}

type conn struct {
	id          string
	ws          *websocket.Conn
	connectedAt time.Time
	lastActive  atomic.Int64 // unix nanos
	sourceIP    string
	userAgent   string
	domain      string

	// ready is closed once the upgrade finished; ws is set (upgrade succeeded) or
	// nil (failed) by then. The connection is listed before the 101 goes out, so a
	// PostToConnection racing the client's first look at its socket still finds it.
	ready chan struct{}

	writeMu     sync.Mutex // one message at a time, its frames contiguous
	closeOnce   sync.Once
	closeCode   atomic.Int64 // the code we closed with, when we initiated the close
	closeReason atomic.Pointer[string]
	idle        *time.Timer // set before the first read; reset by client messages and pings
}

// wait blocks until the upgrade finished and reports whether the socket is usable.
func (c *conn) wait(ctx context.Context) bool {
	select {
	case <-c.ready:
		return c.ws != nil
	case <-ctx.Done():
		return false
	}
}

func (c *conn) touch(now time.Time) { c.lastActive.Store(now.UnixNano()) }

// active records client activity and restarts the idle timer.
func (c *conn) active(idle time.Duration) {
	c.touch(time.Now())
	if c.idle != nil {
		c.idle.Reset(idle)
	}
}

// close starts a close handshake in the background; the read loop then ends and runs
// $disconnect.
func (c *conn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.closeReason.Store(&reason)
		c.closeCode.Store(int64(code))
		go func() { _ = c.ws.Close(code, reason) }()
	})
}

// send writes one message, in FrameBytes frames like API Gateway, within timeout. On
// failure the connection is closed (coder/websocket closes it when the write context
// expires) and the caller forgets it.
func (c *conn) send(ctx context.Context, data []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	typ := websocket.MessageText
	if !utf8.Valid(data) {
		typ = websocket.MessageBinary
	}
	if len(data) <= FrameBytes {
		return c.ws.Write(ctx, typ, data)
	}
	w, err := c.ws.Writer(ctx, typ)
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n := min(len(data), FrameBytes)
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return w.Close()
}

func (g *Gateway) lookup(id string) (*conn, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.conns[id]
	return c, ok
}

// forget drops c from the table so later management calls answer 410.
func (g *Gateway) forget(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conns[c.id] == c {
		delete(g.conns, c.id)
	}
}

// ServeHTTP upgrades a WebSocket handshake after $connect allowed it, then serves the
// connection until it ends.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		// Let the library write the proper 426/400 answer.
		_, _ = websocket.Accept(w, r, nil)
		return
	}
	ip := apigwrequest.SourceIP(r)
	g.mu.Lock()
	closed := g.closed
	refusal := ""
	switch {
	case closed:
	case g.open >= g.opts.MaxConnections:
		refusal = fmt.Sprintf("too many WebSocket connections: at most %d at once", g.opts.MaxConnections)
	case g.perIP[ip] >= g.opts.MaxConnectionsPerClient:
		refusal = fmt.Sprintf("too many WebSocket connections from %s: at most %d at once per client address", ip, g.opts.MaxConnectionsPerClient)
	default:
		g.active.Add(1)
		g.open++
		g.perIP[ip]++
	}
	g.mu.Unlock()
	if closed {
		http.Error(w, `{"message":"Service Unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	if refusal != "" {
		g.refused.Add(1)
		g.log.Warn("websocket upgrade refused", "sourceIp", ip, "reason", refusal)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = fmt.Fprintf(w, `{"message":%q}`, refusal)
		return
	}
	defer func() {
		g.mu.Lock()
		g.open--
		if g.perIP[ip]--; g.perIP[ip] <= 0 {
			delete(g.perIP, ip)
		}
		g.mu.Unlock()
		g.active.Done()
	}()
	// A connection lives as long as the client keeps it (bounded by IdleTimeout and
	// MaxDuration): the HTTP server's read and write timeouts do not apply to it.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})

	now := time.Now()
	c := &conn{id: apigwrequest.NewID(), ready: make(chan struct{}), connectedAt: now, userAgent: r.UserAgent(), domain: r.Host, sourceIP: apigwrequest.SourceIP(r)}
	c.touch(now)

	var subprotocols []string
	if rt, ok := g.routes[RouteConnect]; ok {
		ev := g.event(c, RouteConnect, "CONNECT", now)
		ev.Headers, ev.MultiValueHeaders = headers(r.Header, r.Host)
		ev.QueryStringParameters, ev.MultiValueQueryStringParameters = query(r)
		resp, err := g.invoke(r.Context(), rt, ev)
		status := resp.StatusCode
		if err != nil {
			status = http.StatusInternalServerError
		}
		if status < 200 || status > 299 {
			if status < 400 || status > 599 {
				status = http.StatusForbidden
			}
			g.log.Info("websocket connect rejected", "connectionId", c.id, "status", status, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, `{"message":%q}`, http.StatusText(status))
			return
		}
		if p, _ := httpapi.LookupHeader(resp.Headers, "Sec-WebSocket-Protocol"); p != "" {
			subprotocols = []string{p}
		}
	}

	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		close(c.ready)
		http.Error(w, `{"message":"Service Unavailable"}`, http.StatusServiceUnavailable)
		g.disconnect(c, int64(websocket.StatusGoingAway), "Going away")
		return
	}
	g.conns[c.id] = c
	g.mu.Unlock()
	ws, err := websocket.Accept(guardedWriter{ResponseWriter: w, maxFrame: FrameBytes}, r, &websocket.AcceptOptions{
		Subprotocols: subprotocols,
		// API Gateway does not check Origin; the browser board page connects from any port.
		InsecureSkipVerify: true,
		OnPingReceived: func(context.Context, []byte) bool {
			c.active(g.opts.IdleTimeout) // runs inside Read, after c.idle is set
			return true
		},
	})
	if err != nil {
		g.forget(c)
		close(c.ready)
		g.log.Warn("websocket upgrade failed", "connectionId", c.id, "err", err)
		g.disconnect(c, int64(websocket.StatusAbnormalClosure), "upgrade failed")
		return
	}
	ws.SetReadLimit(MaxMessageBytes)
	c.ws = ws
	// Timers before ready: from then on other goroutines may close c or see pings.
	maxTimer := time.AfterFunc(g.opts.MaxDuration, func() { c.close(websocket.StatusGoingAway, "Going away") })
	defer maxTimer.Stop()
	c.idle = time.AfterFunc(g.opts.IdleTimeout, func() { c.close(websocket.StatusGoingAway, "Going away") })
	defer c.idle.Stop()
	close(c.ready)
	g.mu.Lock()
	closing := g.closed
	g.mu.Unlock()
	if closing { // Close ran during the upgrade and did not see this connection
		c.close(websocket.StatusGoingAway, "Going away")
	}
	g.log.Info("websocket connected", "connectionId", c.id, "sourceIp", c.sourceIP)

	code, reason := g.readLoop(c)
	g.forget(c)
	_ = ws.CloseNow()
	g.disconnect(c, code, reason)
}

// readLoop handles messages until the connection ends and returns the close code.
func (g *Gateway) readLoop(c *conn) (int64, string) {
	ctx := context.Background()
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			if code := c.closeCode.Load(); code != 0 {
				return code, *c.closeReason.Load()
			}
			if errors.Is(err, websocket.ErrMessageTooBig) {
				return int64(websocket.StatusMessageTooBig), "Message too big"
			}
			if code := websocket.CloseStatus(err); code != -1 {
				var ce websocket.CloseError
				errors.As(err, &ce)
				return int64(code), ce.Reason
			}
			return int64(websocket.StatusAbnormalClosure), "Connection closed abnormally"
		}
		c.active(g.opts.IdleTimeout)
		g.message(c, typ, data, time.Now())
	}
}

// message routes and invokes one client message and sends any reply.
func (g *Gateway) message(c *conn, typ websocket.MessageType, data []byte, now time.Time) {
	key, ok := selectRoute(data, func(k string) bool { _, ok := g.routes[k]; return ok })
	ev := g.event(c, key, "MESSAGE", now)
	ev.RequestContext.MessageID = apigwrequest.NewID()
	if typ == websocket.MessageBinary {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(data), true
	} else {
		ev.Body = string(data)
	}
	reply := func(msg string) []byte {
		b, _ := json.Marshal(map[string]string{"message": msg, "connectionId": c.id, "requestId": ev.RequestContext.RequestID})
		return b
	}
	var out []byte
	if !ok {
		out = reply("Forbidden")
	} else {
		resp, err := g.invoke(context.Background(), g.routes[key], ev)
		switch {
		case err != nil:
			g.log.Error("websocket route failed", "route", key, "connectionId", c.id, "err", err)
			out = reply("Internal server error")
		case resp.Body != "":
			out = []byte(resp.Body)
			if resp.IsBase64Encoded {
				if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
					out = b
				}
			}
		}
		g.log.Info("websocket message", "route", key, "connectionId", c.id, "status", resp.StatusCode)
	}
	if out == nil {
		return
	}
	if err := c.send(context.Background(), out, g.opts.WriteTimeout); err != nil {
		g.forget(c)
	}
}

func (g *Gateway) disconnect(c *conn, code int64, reason string) {
	g.log.Info("websocket disconnected", "connectionId", c.id, "code", code)
	rt, ok := g.routes[RouteDisconnect]
	if !ok {
		return
	}
	ev := g.event(c, RouteDisconnect, "DISCONNECT", time.Now())
	ev.RequestContext.DisconnectStatusCode = code
	ev.RequestContext.DisconnectReason = &reason
	if _, err := g.invoke(context.Background(), rt, ev); err != nil {
		g.log.Error("websocket $disconnect failed", "connectionId", c.id, "err", err)
	}
}

func (g *Gateway) event(c *conn, key, eventType string, now time.Time) events.APIGatewayWebsocketProxyRequest {
	reqID := apigwrequest.NewID()
	return events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey:          key,
			EventType:         eventType,
			ExtendedRequestID: reqID,
			RequestTime:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			MessageDirection:  "IN",
			Stage:             g.opts.Stage,
			ConnectedAt:       c.connectedAt.UnixMilli(),
			RequestTimeEpoch:  now.UnixMilli(),
			Identity:          events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
			RequestID:         reqID,
			DomainName:        c.domain,
			ConnectionID:      c.id,
			APIID:             g.opts.APIID,
		},
		IsBase64Encoded: false,
	}
}

// invoke runs a route handler on the JSON payload through aws-lambda-go, like the
// Lambda runtime: bounded by the integration timeout, panics become errors.
func (g *Gateway) invoke(ctx context.Context, rt route, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	var resp events.APIGatewayProxyResponse
	payload, err := json.Marshal(ev)
	if err != nil {
		return resp, fmt.Errorf("encode %s event: %w", rt.route.RouteKey, err)
	}
	out, err := rt.fn.Invoke(context.WithoutCancel(ctx), ev.RequestContext.RequestID, payload)
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return resp, fmt.Errorf("decode %s response: %w", rt.route.RouteKey, err)
	}
	return resp, nil
}

func headers(h http.Header, host string) (map[string]string, map[string][]string) {
	single := map[string]string{"Host": host}
	multi := map[string][]string{"Host": {host}}
	for k, vs := range h {
		single[k] = strings.Join(vs, ",")
		multi[k] = append([]string(nil), vs...)
	}
	return single, multi
}

func query(r *http.Request) (map[string]string, map[string][]string) {
	vals := r.URL.Query()
	if len(vals) == 0 {
		return nil, nil
	}
	single := make(map[string]string, len(vals))
	multi := make(map[string][]string, len(vals))
	for k, vs := range vals {
		single[k] = vs[len(vs)-1]
		multi[k] = vs
	}
	return single, multi
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
