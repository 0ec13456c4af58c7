package wsgateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// ManagementHandler serves the API Gateway management API (PostToConnection,
// GetConnection, DeleteConnection) on any path ending in /@connections/{id}, so it works
// mounted at /_aws/ws with or without http.StripPrefix. Point the SDK's
// apigatewaymanagementapi client at it with BaseEndpoint = server URL + "/_aws/ws".
// Request signatures are not checked (any static credentials work).
func (g *Gateway) ManagementHandler() http.Handler {
	return http.HandlerFunc(g.serveManagement)
}

const connectionsSegment = "/@connections/"

func (g *Gateway) serveManagement(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	i := strings.LastIndex(p, connectionsSegment)
	if i < 0 {
		writeError(w, http.StatusNotFound, "NotFoundException", "Not Found")
		return
	}
	id, err := url.PathUnescape(p[i+len(connectionsSegment):])
	if err != nil || id == "" || strings.Contains(id, "/") {
		writeError(w, http.StatusBadRequest, "BadRequestException", "Invalid connection id")
		return
	}
	switch r.Method {
	case http.MethodPost:
		g.postToConnection(w, r, id)
	case http.MethodGet:
		g.getConnection(w, r, id)
	case http.MethodDelete:
		g.deleteConnection(w, r, id)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", "Method Not Allowed")
	}
}

func (g *Gateway) postToConnection(w http.ResponseWriter, r *http.Request, id string) {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxMessageBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestException", "Could not read request body")
		return
	}
	if len(data) > MaxMessageBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Payload exceeds the 128 KB message quota")
		return
	}
	c, ok := g.lookup(id)
	if !ok || !c.wait(r.Context()) {
		writeGone(w)
		return
	}
	if err := c.send(r.Context(), data, g.opts.WriteTimeout); err != nil {
		// A client that stopped reading or vanished: drop it now (the library has
		// closed the socket), so this and every later call says Gone.
		g.forget(c)
		c.close(websocket.StatusGoingAway, "Going away")
		g.log.Info("post to connection failed, connection dropped", "connectionId", id, "err", err)
		writeGone(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (g *Gateway) getConnection(w http.ResponseWriter, r *http.Request, id string) {
	c, ok := g.lookup(id)
	if !ok || !c.wait(r.Context()) {
		writeGone(w)
		return
	}
	body, _ := json.Marshal(map[string]any{ // strings and times always marshal
		"connectedAt":  c.connectedAt.UTC().Format(time.RFC3339Nano),
		"lastActiveAt": time.Unix(0, c.lastActive.Load()).UTC().Format(time.RFC3339Nano),
		"identity":     map[string]string{"sourceIp": c.sourceIP, "userAgent": c.userAgent},
	})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (g *Gateway) deleteConnection(w http.ResponseWriter, r *http.Request, id string) {
	c, ok := g.lookup(id)
	if !ok || !c.wait(r.Context()) {
		writeGone(w)
		return
	}
	g.forget(c)
	c.close(websocket.StatusNormalClosure, "")
	w.WriteHeader(http.StatusNoContent)
}

func writeGone(w http.ResponseWriter) {
	writeError(w, http.StatusGone, "GoneException", "")
}

// writeError answers like the AWS REST-JSON protocol: the error code in
// X-Amzn-ErrorType, {"message"} in the body; the SDK turns it into a typed error.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
