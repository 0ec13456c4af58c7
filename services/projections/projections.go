// Package projections is the read side of the concert system: it applies the
// concerts service's events to a read model (one view per concert), serves the query
// API over it, and announces every committed view change as ConcertViewUpdated.
//
// Describe and New give the service's functions for CDK, devstack and the Lambda
// mains; FoldEvents is the in-process rebuild from bus events that devstack and the
// benchmarks use besides (its embedded view store is in package embedded).
package projections

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/services/projections/internal/adapters/dynamoviews"
	"github.com/concertsys/services/projections/internal/adapters/ebpublisher"
	"github.com/concertsys/services/projections/internal/adapters/ebreplay"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/ports"
	"github.com/concertsys/services/projections/viewevents"
)

// Name is the service name, also the EventBridge source of its events.
const Name = viewevents.Source

// Function names (cmd/ directories, zip names, Lambda function names).
const (
	FunctionProjectConcerts = "project-concerts"
	FunctionGetConcert      = "get-concert"
	FunctionListConcerts    = "list-concerts"
	FunctionRebuild         = "rebuild-projections"
)

// Environment variables of the Lambda functions (set by the infra module, read by
// internal/wiring).
const (
	EnvViewsTable   = "VIEWS_TABLE"
	EnvEventBusName = "EVENT_BUS_NAME"
	// EnvArchiveARN, EnvBusARN and EnvRuleARN say what
	// rebuild-projections replays: the bus's archive, to the consumer's rule only.
	EnvArchiveARN = "ARCHIVE_ARN"
	EnvBusARN     = "EVENT_BUS_ARN"
	EnvRuleARN    = "RULE_ARN"
	// EnvCursorKeySecret is the ARN of the Secrets Manager secret holding the list
	// cursors' HMAC key, read once at init (never the key itself in the environment).
	EnvCursorKeySecret = "CURSOR_KEY_SECRET_ARN"
)

// Route keys of the query API.
const (
	RouteGetConcert   = "GET /concerts/{id}"
	RouteListConcerts = "GET /concerts"
)

// SubscriptionName is the rule name of the consumer on the bus.
const SubscriptionName = "projections-concert-events"

// Subscription is the consumer's rule: source concerts and exactly the event types
// it applies.
func Subscription() subscription.Subscription {
	pattern, _ := json.Marshal(map[string][]string{ // strings always marshal
		"source":      {domain.Source},
		"detail-type": domain.EventTypes(),
	})
	return subscription.Subscription{Name: SubscriptionName, Pattern: pattern}
}

// ViewStore is the read model store port; NewDynamoViews and embedded.OpenViews
// return its adapters.
type ViewStore = app.ViewStore

// RebuildStats says what folding bus events into views did.
type RebuildStats = app.RebuildStats

// RebuildResult says how rebuild-projections' replay ended.
type RebuildResult = app.RebuildResult

// ReplayTarget is what rebuild-projections replays and to which rule.
type ReplayTarget = ebreplay.Target

// NewDynamoViews is the view store in an existing DynamoDB table.
func NewDynamoViews(client *dynamodb.Client, table string) ViewStore {
	return dynamoviews.New(client, table)
}

// CreateViewsTable creates the DynamoDB views table with its index (tests, tooling).
func CreateViewsTable(ctx context.Context, client *dynamodb.Client, table string) error {
	return dynamoviews.CreateTable(ctx, client, table)
}

// FoldEvents folds a stream of EventBridge events (the JSON of each, as the bus
// archive keeps them and a replay delivers them) into views with the consumer's
// rules, and writes them in batches unless the stored views are newer: the in-process
// rebuild, safe while the consumer runs.
func FoldEvents(ctx context.Context, events iter.Seq2[[]byte, error], views ViewStore) (RebuildStats, error) {
	return app.NewFoldEvents(views).Handle(ctx, events)
}

// Deps are the ports and clients the functions use.
type Deps struct {
	// Views is the read model store (required).
	Views ViewStore
	// EventBridge and EventBusName publish ConcertViewUpdated (nil: the consumer
	// fails; the query functions do not need it). rebuild-projections replays
	// Replay through EventBridge too (no client or an empty Replay: the job fails).
	EventBridge  *eventbridge.Client
	EventBusName string
	Replay       ReplayTarget
	// ReplayPoll is how often rebuild-projections asks for its replay's state
	// (default 2 s).
	ReplayPoll time.Duration
	// CursorKey signs list cursors; empty means a random key for this process only.
	CursorKey []byte
	Logger    *slog.Logger
}

// Describe is the service without handlers (CDK).
func Describe() service.Service {
	return service.Service{
		Name: Name,
		HTTPRoutes: []service.HTTPRoute{
			{Function: FunctionGetConcert, RouteKey: RouteGetConcert, Access: service.Public},
			{Function: FunctionListConcerts, RouteKey: RouteListConcerts, Access: service.Public},
		},
		Consumers: []service.Consumer{{Function: FunctionProjectConcerts, Subscription: Subscription()}},
		Jobs:      []service.Job{{Function: FunctionRebuild}},
	}
}

// New is the service with every handler wired to deps.
func New(ctx context.Context, deps Deps) (service.Service, error) {
	if deps.Views == nil {
		return service.Service{}, errors.New("projections: Deps.Views is required")
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.Default()
	}
	key := deps.CursorKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return service.Service{}, fmt.Errorf("projections: cursor key: %w", err)
		}
	}
	cursors, err := app.NewCursorCodec(key)
	if err != nil {
		return service.Service{}, fmt.Errorf("projections: %w", err)
	}
	var publisher app.Publisher
	switch {
	case deps.EventBridge == nil:
	case deps.EventBusName != "":
		publisher = ebpublisher.New(deps.EventBridge, deps.EventBusName)
	case deps.Replay == (ReplayTarget{}):
		return service.Service{}, errors.New("projections: Deps.EventBusName or Deps.Replay is required with Deps.EventBridge")
	}
	project := app.NewProjectConcertEvent(deps.Views, app.NewViewPublisher(deps.Views, publisher), logger)
	var replayer app.Replayer
	if deps.EventBridge != nil && deps.Replay != (ReplayTarget{}) {
		replayer = ebreplay.New(deps.EventBridge, deps.Replay)
	}
	poll := deps.ReplayPoll
	if poll == 0 {
		poll = 2 * time.Second
	}

	return Describe().Attach(service.Handlers{
		FunctionGetConcert:      ports.GetConcert(app.NewGetConcert(deps.Views), logger),
		FunctionListConcerts:    ports.ListConcerts(app.NewListConcerts(deps.Views, cursors), logger),
		FunctionProjectConcerts: ports.ConcertEvents(project, logger),
		FunctionRebuild:         ports.Rebuild(app.NewRebuild(replayer, nil, poll), logger),
	})
}
