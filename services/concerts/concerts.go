// Package concerts is the write side of the concert domain: the Concert aggregate,
// its REST commands (API Gateway HTTP API Lambda handlers), the history query and the
// enricher of the event log's Pipe to the bus. Describe and New give the same
// functions to the Lambda mains, devstack and the CDK stack.
package concerts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/eventlog/dynamolog"
	"github.com/concertsys/platform/service"

	"github.com/concertsys/services/concerts/concertevents"
	"github.com/concertsys/services/concerts/internal/adapters/dynamoidempotency"
	"github.com/concertsys/services/concerts/internal/app"
	"github.com/concertsys/services/concerts/internal/ports"
)

// Name is the service name, also the EventBridge source of its events.
const Name = concertevents.Source

// Function names (cmd/<name>, dist/concerts/<name>.zip).
const (
	FunctionScheduleConcert   = "schedule-concert"
	FunctionUpdateConcert     = "update-concert"
	FunctionRescheduleConcert = "reschedule-concert"
	FunctionSellTickets       = "sell-tickets"
	FunctionCancelConcert     = "cancel-concert"
	FunctionGetConcertEvents  = "get-concert-events"
	FunctionEnrichEvents      = "enrich-events"
)

// Environment variables of the Lambda functions.
const (
	EnvEventLogTable    = "EVENT_LOG_TABLE"
	EnvIdempotencyTable = "IDEMPOTENCY_TABLE"
	// EnvSnapshotTable names the snapshot table of the command functions.
	EnvSnapshotTable = "SNAPSHOT_TABLE"
)

// The snapshot table: partition key SnapshotKeyAttribute (S), no sort key, no stream
// (it is not the event log: nothing in it reaches the bus).
const SnapshotKeyAttribute = eventlog.AttrAggregateID

// The idempotency table: partition key IdempotencyKeyAttribute (S), TTL enabled on
// IdempotencyTTLAttribute.
const (
	IdempotencyKeyAttribute = dynamoidempotency.AttrKey
	IdempotencyTTLAttribute = dynamoidempotency.TTLAttribute
)

// IdempotencyStore is the port that remembers Idempotency-Key requests; the types
// around it are aliases so other modules can use the adapters (NewDynamoIdempotency,
// and embedded.OpenIdempotency for devstack).
type (
	IdempotencyStore  = ports.IdempotencyStore
	IdempotencyRecord = ports.IdempotencyRecord
)

// Deps is what New needs. Now, NewID and Logger default to time.Now, random UUIDs
// and slog.Default(). Snapshots is optional: without it every cold load folds the
// concert's whole history; with it a snapshot is stored every SnapshotEvery events
// (0: DefaultSnapshotEvery).
type Deps struct {
	Log           eventlog.Log
	Idempotency   IdempotencyStore
	Snapshots     eventlog.SnapshotStore
	SnapshotEvery int
	Now           func() time.Time
	NewID         func() string
	Logger        *slog.Logger
}

// Describe lists the functions and their triggers, with nil handlers.
func Describe() service.Service {
	return service.Service{
		Name: Name,
		HTTPRoutes: []service.HTTPRoute{
			{Function: FunctionScheduleConcert, RouteKey: ports.RouteSchedule, Access: service.Organizers},
			{Function: FunctionUpdateConcert, RouteKey: ports.RouteUpdate, Access: service.Organizers},
			{Function: FunctionRescheduleConcert, RouteKey: ports.RouteReschedule, Access: service.Organizers},
			{Function: FunctionSellTickets, RouteKey: ports.RouteTickets, Access: service.Organizers},
			{Function: FunctionCancelConcert, RouteKey: ports.RouteCancel, Access: service.Organizers},
			{Function: FunctionGetConcertEvents, RouteKey: ports.RouteEvents, Access: service.Public},
		},
		Enrichers: []service.Enricher{{Function: FunctionEnrichEvents}},
	}
}

// New builds the service with its handlers.
func New(ctx context.Context, deps Deps) (service.Service, error) {
	if deps.Log == nil {
		return service.Service{}, errors.New("concerts: Deps.Log is required")
	}
	if deps.Idempotency == nil {
		return service.Service{}, errors.New("concerts: Deps.Idempotency is required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.NewID == nil {
		deps.NewID = NewUUID
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	// Appends run in their own span and stamp the records with it (one place for
	// the log append hop).
	repo, err := app.NewRepository(eventlog.Traced(deps.Log), deps.Now, deps.NewID, 0)
	if err != nil {
		return service.Service{}, fmt.Errorf("concerts: %w", err)
	}
	if deps.Snapshots != nil {
		logger := deps.Logger
		repo.UseSnapshots(deps.Snapshots, deps.SnapshotEvery, func(err error) {
			logger.WarnContext(ctx, "snapshot skipped", "error", err)
		})
	}
	h := ports.NewHTTP(ports.UseCases{
		ScheduleConcert:   app.NewScheduleConcert(repo, deps.Now),
		UpdateConcert:     app.NewUpdateConcert(repo),
		RescheduleConcert: app.NewRescheduleConcert(repo, deps.Now),
		SellTickets:       app.NewSellTickets(repo, deps.Now),
		CancelConcert:     app.NewCancelConcert(repo),
		GetConcertEvents:  app.NewGetConcertEvents(deps.Log),
	}, ports.NewIdempotency(deps.Idempotency, app.NewFindCaused(deps.Log), deps.Now, deps.NewID, deps.Logger), deps.NewID, deps.Logger)
	svc, err := Describe().Attach(service.Handlers{
		FunctionScheduleConcert:   h.ScheduleConcert,
		FunctionUpdateConcert:     h.UpdateConcert,
		FunctionRescheduleConcert: h.RescheduleConcert,
		FunctionSellTickets:       h.SellTickets,
		FunctionCancelConcert:     h.CancelConcert,
		FunctionGetConcertEvents:  h.GetConcertEvents,
		FunctionEnrichEvents:      ports.NewEnricher(deps.Logger),
	})
	if err != nil {
		return service.Service{}, fmt.Errorf("concerts: %w", err)
	}
	return svc, nil
}

// DefaultSnapshotEvery is how many events apart snapshots are stored by default.
const DefaultSnapshotEvery = app.DefaultSnapshotEvery

// NewDynamoSnapshots is the DynamoDB snapshot store over table (one of its own: an item
// in the event log's table would be a stream INSERT the Pipe forwards to the bus).
var NewDynamoSnapshots = dynamolog.NewSnapshots

// CreateSnapshotTable creates the DynamoDB snapshot table (tests, local AWS emulators;
// the CDK stack declares it on AWS).
var CreateSnapshotTable = dynamolog.CreateSnapshotTable

// NewDynamoIdempotency is the DynamoDB idempotency store over table.
var NewDynamoIdempotency = dynamoidempotency.New

// CreateIdempotencyTable creates the DynamoDB idempotency table (tests, local AWS
// emulators; the CDK stack declares it on AWS).
var CreateIdempotencyTable = dynamoidempotency.CreateTable

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
