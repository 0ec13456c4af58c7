// Package management posts messages to WebSocket connections through API Gateway's
// management API (PostToConnection), on AWS or devstack's /_aws/ws.
package management

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/concertsys/services/notifications/internal/app"
)

var _ app.Poster = (*Poster)(nil)

// Poster is the apigatewaymanagementapi adapter of app.Poster.
type Poster struct {
	client *apigatewaymanagementapi.Client
}

// New wraps a client whose endpoint is the WebSocket API stage's management URL.
func New(client *apigatewaymanagementapi.Client) *Poster { return &Poster{client: client} }

// Post sends data to one connection. GoneException becomes app.ErrGone and
// PayloadTooLargeException app.ErrPayloadTooLarge; other errors are worth a retry.
func (p *Poster) Post(ctx context.Context, connectionID string, data []byte) error {
	_, err := p.client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(connectionID),
		Data:         data,
	})
	var gone *types.GoneException
	var tooLarge *types.PayloadTooLargeException
	switch {
	case err == nil:
		return nil
	case errors.As(err, &gone):
		return fmt.Errorf("post to %s: %w", connectionID, app.ErrGone)
	case errors.As(err, &tooLarge):
		return fmt.Errorf("post %d bytes to %s: %w", len(data), connectionID, app.ErrPayloadTooLarge)
	default:
		return fmt.Errorf("post to %s: %w", connectionID, err)
	}
}
