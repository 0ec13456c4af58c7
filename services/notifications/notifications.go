// Package notifications is the WebSocket notification service: clients subscribe to
// concerts (or to "*") over API Gateway's WebSocket API, and every ConcertViewUpdated
// from the projections service is pushed to the subscribers with PostToConnection.
package notifications

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/services/notifications/internal/adapters/dynamostore"
	"github.com/concertsys/services/notifications/internal/adapters/management"
	"github.com/concertsys/services/notifications/internal/adapters/sqsqueue"
	"github.com/concertsys/services/notifications/internal/app"
	"github.com/concertsys/services/notifications/internal/domain"
	"github.com/concertsys/services/notifications/internal/ports"
)

// Name is the service name.
const Name = "notifications"

// Function names (also cmd/ directories and zip names).
const (
	FunctionConnect     = "ws-connect"
	FunctionDisconnect  = "ws-disconnect"
	FunctionSubscribe   = "ws-subscribe"
	FunctionUnsubscribe = "ws-unsubscribe"
	FunctionDefault     = "ws-default"
	FunctionFanOut      = "fan-out"
	// FunctionFanOutBatch posts one batch of the fan-out queue to its connections.
	FunctionFanOutBatch = "fan-out-batch"
)

// QueueFanOutBatches is the fan-out queue: the fan-out sends batches of connections
// to it, FunctionFanOutBatch reads it.
const QueueFanOutBatches = "fan-out-batches"

// Environment variables of the Lambda functions (set by the infra module, read by
// internal/wiring).
const (
	EnvConnectionsTable   = "CONNECTIONS_TABLE"
	EnvManagementEndpoint = "WS_MANAGEMENT_ENDPOINT" // https://{api-id}.execute-api.{region}.amazonaws.com/{stage}
	// EnvFanOutQueueURL is the fan-out queue's URL (the fan-out function's).
	EnvFanOutQueueURL = "FANOUT_QUEUE_URL"
	// EnvDynamoDBEndpoint optionally points DynamoDB at a local server.
	EnvDynamoDBEndpoint = "DYNAMODB_ENDPOINT"
)

// WebSocket route keys; the API's route selection expression is RouteSelection.
const (
	RouteConnect     = "$connect"
	RouteDisconnect  = "$disconnect"
	RouteSubscribe   = domain.ActionSubscribe
	RouteUnsubscribe = domain.ActionUnsubscribe
	RouteDefault     = "$default"
	RouteSelection   = "$request.body.action"
)

// SubscriptionConcertViewUpdated is the bus rule of the fan-out function.
const SubscriptionConcertViewUpdated = "notifications-view-updates"

// Connections table design, for the CDK stack: string keys PK and SK, TTL on
// ExpiresAt (epoch seconds).
const (
	TablePartitionKey = dynamostore.PartitionKey
	TableSortKey      = dynamostore.SortKey
	TableTTLAttribute = dynamostore.TTLAttribute
)

// DefaultConnectionTTL is how long rows of a connection live without a $disconnect:
// a little more than API Gateway's 2-hour maximum connection duration.
const DefaultConnectionTTL = 2*time.Hour + 15*time.Minute

// BatchQueue is the fan-out queue's port (app.BatchQueue): Enqueue puts up to 10
// bodies, 256 KB in all, as SendMessageBatch does.
type BatchQueue = app.BatchQueue

// NewSQSBatchQueue is the fan-out queue on SQS at url.
func NewSQSBatchQueue(client *sqs.Client, url string) BatchQueue { return sqsqueue.New(client, url) }

// Store keeps connections, subscriptions and delivered versions.
type Store = app.Store

// NewDynamoStore is the store in the DynamoDB table (see Table* for its design).
func NewDynamoStore(client *dynamodb.Client, table string) Store {
	return dynamostore.New(client, table)
}

// CreateDynamoTable creates the connections table (without TTL, which the CDK stack
// enables), for local DynamoDB-API servers and tests.
func CreateDynamoTable(ctx context.Context, client *dynamodb.Client, table string) error {
	return dynamostore.CreateTable(ctx, client, table)
}

// Deps are what the handlers need.
type Deps struct {
	Store Store
	// Management posts to connections; its BaseEndpoint is the stage's management
	// URL on AWS, or devstack's URL + "/_aws/ws".
	Management *apigatewaymanagementapi.Client
	Logger     *slog.Logger     // nil: slog.Default()
	Now        func() time.Time // nil: time.Now

	// FanOutQueue, when set, is the fan-out queue: the fan-out splits subscribers
	// into batches there and FunctionFanOutBatch posts each; nil posts in the fan-out
	// itself.
	FanOutQueue BatchQueue
	// FanOutBatchConnections is the most connections per batch (default and most 500).
	FanOutBatchConnections int

	// Optional tuning; zero values take the defaults.
	ConnectionTTL     time.Duration // DefaultConnectionTTL
	FanOutConcurrency int           // concurrent PostToConnection calls per event, 16
}

// Subscription is the rule delivering ConcertViewUpdated to fan-out.
func Subscription() subscription.Subscription {
	pattern, _ := json.Marshal(map[string][]string{ // strings always marshal
		"source":      {domain.ViewEventsSource},
		"detail-type": {domain.EventTypeConcertViewUpdated},
	})
	return subscription.Subscription{Name: SubscriptionConcertViewUpdated, Pattern: pattern}
}

// Describe is the service without handlers (for the CDK stack).
func Describe() service.Service {
	return service.Service{
		Name: Name,
		WebSocketRoutes: []service.WebSocketRoute{
			{Function: FunctionConnect, RouteKey: RouteConnect},
			{Function: FunctionDisconnect, RouteKey: RouteDisconnect},
			{Function: FunctionSubscribe, RouteKey: RouteSubscribe},
			{Function: FunctionUnsubscribe, RouteKey: RouteUnsubscribe},
			{Function: FunctionDefault, RouteKey: RouteDefault},
		},
		Consumers:    []service.Consumer{{Function: FunctionFanOut, Subscription: Subscription()}},
		QueueWorkers: []service.QueueWorker{{Function: FunctionFanOutBatch, Queue: QueueFanOutBatches}},
	}
}

// New is the service with its handlers.
func New(ctx context.Context, deps Deps) (service.Service, error) {
	if deps.Store == nil {
		return service.Service{}, errors.New("notifications: Deps.Store is required")
	}
	if deps.Management == nil {
		return service.Service{}, errors.New("notifications: Deps.Management is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.ConnectionTTL <= 0 {
		deps.ConnectionTTL = DefaultConnectionTTL
	}
	if deps.FanOutConcurrency <= 0 {
		deps.FanOutConcurrency = app.DefaultFanOutConcurrency
	}
	if deps.ConnectionTTL < app.DefaultDeliveryLease {
		return service.Service{}, fmt.Errorf("notifications: ConnectionTTL %s is shorter than the delivery lease", deps.ConnectionTTL)
	}
	poster := management.New(deps.Management)
	log := deps.Logger.With("service", Name)
	ws := ports.NewWebSocket(
		app.NewConnect(deps.Store, deps.Now, deps.ConnectionTTL),
		app.NewDisconnect(deps.Store),
		app.NewSubscribe(deps.Store, deps.Now, deps.ConnectionTTL),
		app.NewUnsubscribe(deps.Store),
		poster, log)
	fan := ports.NewFanOut(app.NewFanOut(deps.Store, poster, log, deps.Now, app.FanOutOptions{
		TTL: deps.ConnectionTTL, Concurrency: deps.FanOutConcurrency,
		Lease: app.DefaultDeliveryLease, PostTimeout: app.DefaultPostTimeout, Batches: deps.FanOutQueue, BatchConnections: deps.FanOutBatchConnections,
	}), log)
	return Describe().Attach(service.Handlers{
		FunctionConnect:     ws.HandleConnect,
		FunctionDisconnect:  ws.HandleDisconnect,
		FunctionSubscribe:   ws.HandleMessage,
		FunctionUnsubscribe: ws.HandleMessage,
		FunctionDefault:     ws.HandleMessage,
		FunctionFanOut:      fan.Handle,
		FunctionFanOutBatch: fan.HandleBatches,
	})
}

// Types of the store's contract, for callers that drive a Store directly (devstack
// tooling and tests).
type (
	Connection   = app.Connection
	Delivery     = app.Delivery
	Claim        = app.Claim
	ClaimOutcome = app.ClaimOutcome
)

// Claim outcomes.
const (
	Claimed    = app.Claimed
	Superseded = app.Superseded
	InFlight   = app.InFlight
)
