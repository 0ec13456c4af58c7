// Package ports turns Lambda events into use-case calls: the WebSocket route handlers
// and the fan-out bus target.
package ports

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/services/notifications/internal/app"
	"github.com/concertsys/services/notifications/internal/domain"
)

// WebSocket handles the WebSocket API routes.
//
// Replies ("subscribed", "unsubscribed", "error") are posted to the connection with
// PostToConnection, and route handlers return an empty body. That behaves the same on
// AWS (routes deployed without route responses, so API Gateway sends nothing itself)
// and on devstack (whose gateway sends only non-empty bodies), and the reply is on its
// way before the handler returns. The status code is for logs and metrics only.
type WebSocket struct {
	connect     *app.Connect
	disconnect  *app.Disconnect
	subscribe   *app.Subscribe
	unsubscribe *app.Unsubscribe
	replies     app.Poster
	logger      *slog.Logger
}

// NewWebSocket serves the routes with the use cases; replies posts the answers.
func NewWebSocket(connect *app.Connect, disconnect *app.Disconnect, subscribe *app.Subscribe, unsubscribe *app.Unsubscribe,
	replies app.Poster, logger *slog.Logger) *WebSocket {
	return &WebSocket{connect: connect, disconnect: disconnect, subscribe: subscribe, unsubscribe: unsubscribe, replies: replies, logger: logger}
}

func status(code int) events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{StatusCode: code}
}

// HandleConnect records the connection ($connect). A non-2xx answer makes API
// Gateway refuse the handshake, so a store failure means the client retries.
func (w *WebSocket) HandleConnect(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	id := req.RequestContext.ConnectionID
	if !validConnectionID(id) {
		return status(http.StatusBadRequest), nil
	}
	if err := w.connect.Handle(ctx, id); err != nil {
		w.logger.ErrorContext(ctx, "connect", "connectionId", id, "err", err)
		return status(http.StatusInternalServerError), nil
	}
	return status(http.StatusOK), nil
}

// HandleDisconnect forgets the connection ($disconnect). API Gateway ignores the
// answer; rows a failed delete leaves behind expire by TTL.
func (w *WebSocket) HandleDisconnect(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	id := req.RequestContext.ConnectionID
	if !validConnectionID(id) {
		return status(http.StatusBadRequest), nil
	}
	if err := w.disconnect.Handle(ctx, id); err != nil {
		w.logger.ErrorContext(ctx, "disconnect", "connectionId", id, "err", err)
		return status(http.StatusInternalServerError), nil
	}
	return status(http.StatusOK), nil
}

// HandleMessage serves the subscribe, unsubscribe and $default routes. It acts on the
// parsed action rather than the route key, so every route gives the same answer to
// the same message; on $default that is an error reply for anything unknown.
func (w *WebSocket) HandleMessage(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	id := req.RequestContext.ConnectionID
	if !validConnectionID(id) {
		return status(http.StatusBadRequest), nil
	}
	if req.IsBase64Encoded {
		return w.replyError(ctx, id, http.StatusBadRequest, "binary messages are not supported: send JSON text"), nil
	}
	cmd, err := domain.ParseCommand(req.Body)
	if err != nil {
		return w.replyError(ctx, id, http.StatusBadRequest, clientMessage(err, "message not understood")), nil
	}
	var reply []byte
	switch cmd.Action() {
	case domain.ActionSubscribe:
		err = w.subscribe.Handle(ctx, id, cmd.ConcertID())
		reply = domain.SubscribedMessage(cmd.ConcertID())
	default:
		err = w.unsubscribe.Handle(ctx, id, cmd.ConcertID())
		reply = domain.UnsubscribedMessage(cmd.ConcertID())
	}
	var perr *domain.ProtocolError
	switch {
	case errors.As(err, &perr):
		return w.replyError(ctx, id, http.StatusBadRequest, perr.Message), nil
	case errors.Is(err, app.ErrConnectionNotFound):
		return w.replyError(ctx, id, http.StatusGone, "this connection is not registered any more: reconnect"), nil
	case err != nil:
		w.logger.ErrorContext(ctx, cmd.Action(), "connectionId", id, "concertId", cmd.ConcertID().String(), "err", err)
		return w.replyError(ctx, id, http.StatusInternalServerError, cmd.Action()+" failed, try again"), nil
	}
	return w.reply(ctx, id, http.StatusOK, reply), nil
}

// validConnectionID accepts what API Gateway issues (e.g. "L0SM9cOFvHcCIhw="):
// short, printable ASCII, no path separators; anything else never reaches the store.
func validConnectionID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '/' {
			return false
		}
	}
	return true
}

func clientMessage(err error, fallback string) string {
	var perr *domain.ProtocolError
	if errors.As(err, &perr) {
		return perr.Message
	}
	return fallback
}

func (w *WebSocket) replyError(ctx context.Context, id string, code int, message string) events.APIGatewayProxyResponse {
	return w.reply(ctx, id, code, domain.ErrorMessage(message))
}

// reply posts msg to the connection. A gone connection is forgotten right away; other
// failures only log, since the client can repeat its request.
func (w *WebSocket) reply(ctx context.Context, id string, code int, msg []byte) events.APIGatewayProxyResponse {
	err := w.replies.Post(ctx, id, msg)
	switch {
	case err == nil:
		return status(code)
	case errors.Is(err, app.ErrGone):
		if derr := w.disconnect.Handle(ctx, id); derr != nil {
			w.logger.WarnContext(ctx, "forget gone connection", "connectionId", id, "err", derr)
		}
		return status(http.StatusGone)
	default:
		w.logger.WarnContext(ctx, "reply to connection", "connectionId", id, "err", err)
		return status(http.StatusBadGateway)
	}
}
