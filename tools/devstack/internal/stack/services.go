package stack

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/services/concerts"
	concertsembedded "github.com/concertsys/services/concerts/embedded"
	"github.com/concertsys/services/notifications"
	notificationsembedded "github.com/concertsys/services/notifications/embedded"
	"github.com/concertsys/services/projections"
	projectionsembedded "github.com/concertsys/services/projections/embedded"
	"github.com/concertsys/tools/local/boltlog"
	"github.com/concertsys/tools/local/queue"
)

// environment is what the services are built from.
type environment struct {
	dataDir     string
	events      *boltlog.Log
	eventBridge *eventbridge.Client
	management  *apigatewaymanagementapi.Client
	busName     string
	logger      *slog.Logger
	// replay is what rebuild-projections replays: the bus's archive, to the
	// projections rule only.
	replay projections.ReplayTarget
	// eventBridgeAs signs with a registered service's own keys (registry.go).
	eventBridgeAs eventBridgeAs
	// runs says whether a registered service runs (Config.Services).
	runs func(name string) bool
	// workerQueue creates a service's own queue (read by its QueueWorker).
	workerQueue func(svc string, w service.QueueWorker) (*queue.Queue, error)
}

type services struct {
	services []service.Service
	closers  []func() error
	// sweepers delete expired rows, as DynamoDB's TTL does on AWS.
	sweepers map[string]func(ctx context.Context, now time.Time) (int, error)
	// projectionViews is the projections' read model, which the in-process rebuild
	// folds the bus archive into.
	projectionViews projections.ViewStore
	// afterStart are the registered services' hooks (registry.go).
	afterStart []func(ctx context.Context, s *Stack) error
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

	idem, err := concertsembedded.OpenIdempotency(filepath.Join(env.dataDir, "concerts-idempotency.db"))
	if err != nil {
		return out, fmt.Errorf("concerts idempotency store: %w", err)
	}
	out.closers = append(out.closers, idem.Close)
	// Snapshots in a file of their own: the log's file (and so its feed, which the pipe
	// forwards to the bus) never holds one.
	snaps, err := boltlog.OpenSnapshots(filepath.Join(env.dataDir, "concerts-snapshots.db"))
	if err != nil {
		return out, fmt.Errorf("concerts snapshot store: %w", err)
	}
	out.closers = append(out.closers, snaps.Close)
	conc, err := concerts.New(ctx, concerts.Deps{Log: env.events, Idempotency: idem, Snapshots: snaps, Logger: env.logger})
	if err != nil {
		return out, err
	}
	out.services = append(out.services, conc)

	connections, err := notificationsembedded.OpenStore(filepath.Join(env.dataDir, "notifications.db"))
	if err != nil {
		return out, fmt.Errorf("notifications store: %w", err)
	}
	out.closers = append(out.closers, connections.Close)
	out.sweepers = map[string]func(context.Context, time.Time) (int, error){"notifications-connections": connections.DeleteExpired}
	var fanOutQueue notifications.BatchQueue
	for _, w := range notifications.Describe().QueueWorkers {
		q, err := env.workerQueue(notifications.Name, w)
		if err != nil {
			return out, fmt.Errorf("notifications %s queue: %w", w.Queue, err)
		}
		if w.Queue == notifications.QueueFanOutBatches {
			fanOutQueue = q
		}
	}
	notif, err := notifications.New(ctx, notifications.Deps{
		Store: connections, Management: env.management, Logger: env.logger, FanOutQueue: fanOutQueue,
	})
	if err != nil {
		return out, err
	}
	out.services = append(out.services, notif)

	views, err := projectionsembedded.OpenViews(filepath.Join(env.dataDir, "projections.db"))
	if err != nil {
		return out, fmt.Errorf("projections store: %w", err)
	}
	out.closers = append(out.closers, views.Close)
	cursorKey, err := views.CursorKey()
	if err != nil {
		return out, fmt.Errorf("projections cursor key: %w", err)
	}
	proj, err := projections.New(ctx, projections.Deps{
		Views: views, EventBridge: env.eventBridge, EventBusName: env.busName,
		Replay: env.replay, ReplayPoll: 100 * time.Millisecond,
		CursorKey: cursorKey, Logger: env.logger,
	})
	if err != nil {
		return out, err
	}
	out.services = append(out.services, proj)
	out.projectionViews = views
	return out, buildRegistered(ctx, env, &out, env.runs)
}
