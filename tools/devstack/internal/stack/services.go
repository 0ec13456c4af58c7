package stack

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/concertsys/platform/eventlog/boltlog"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/services/notifications"
)

// environment is what the services are built from.
type environment struct {
	dataDir     string
	events      *boltlog.Log
	eventBridge *eventbridge.Client
	management  *apigatewaymanagementapi.Client
	busName     string
	logger      *slog.Logger
}

type services struct {
	services []service.Service
	closers  []func() error
	rebuild  func(ctx context.Context) (any, error)
}

// buildServices builds every service with its local (bbolt) adapters in the data
// directory and the AWS SDK clients pointed at devstack's own endpoints.
func buildServices(ctx context.Context, env environment) (out services, err error) {
	defer func() {
		if err != nil {
			for i := len(out.closers) - 1; i >= 0; i-- {
				_ = out.closers[i]()
			}
		}
	}()

	connections, err := notifications.OpenLocalStore(filepath.Join(env.dataDir, "notifications.db"))
	if err != nil {
		return out, fmt.Errorf("notifications store: %w", err)
	}
	out.closers = append(out.closers, connections.Close)
	notif, err := notifications.New(ctx, notifications.Deps{
		Store: connections, Management: env.management, Logger: env.logger,
	})
	if err != nil {
		return out, err
	}
	out.services = append(out.services, notif)
	return out, nil
}
