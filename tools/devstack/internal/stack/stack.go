// Package stack wires the whole system into one process: the event log, the bus, the
// pipe, the three services' handlers and the HTTP/WebSocket gateways, all served on
// one address. devstack's main only parses flags around Start and Close, so tests
// can run the very same stack in-process.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/service"
	"github.com/concertsys/platform/tracing"
	"github.com/concertsys/services/projections"
	"github.com/concertsys/tools/devstack/board"
	"github.com/concertsys/tools/local/boltlog"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
	"github.com/concertsys/tools/local/faults"
	"github.com/concertsys/tools/local/httpgateway"
	"github.com/concertsys/tools/local/lambdainvoke"
	"github.com/concertsys/tools/local/localauth"
	"github.com/concertsys/tools/local/localiam"
	"github.com/concertsys/tools/local/pipe"
	"github.com/concertsys/tools/local/queue"
	"github.com/concertsys/tools/local/spanstore"
	"github.com/concertsys/tools/local/wsgateway"
)

// Paths devstack serves besides the REST API.
const (
	HealthPath     = "/healthz"
	WebSocketPath  = "/ws"
	EventsAPIPath  = "/_aws/events"
	ManagementPath = "/_aws/ws"
	// SQSPath serves the SQS JSON protocol over devstack's queues (developer only).
	SQSPath = "/_aws/sqs"
	// The bus's developer endpoints (tools/local/bus/eventsapi).
	TailPath        = EventsAPIPath + "/tail"
	DeadLettersPath = EventsAPIPath + "/dead-letters"
	RedrivePath     = EventsAPIPath + "/dead-letters/redrive"
	// The pipe's dead letters (batches' stream coordinates) and their redrive.
	PipeDeadLettersPath = EventsAPIPath + "/pipes/dead-letters"
	PipeRedrivePath     = EventsAPIPath + "/pipes/dead-letters/redrive"
	// RebuildPath rebuilds the projections' read model: a replay of the bus archive to
	// the projections rule, followed to its end.
	RebuildPath = JobsPath + projections.FunctionRebuild
	// RebuildInProcessPath rebuilds the projections' read model in process: the bus
	// archive folded into the views in batches (projections.FoldEvents), without a
	// delivery per event. A devstack convenience with no AWS counterpart.
	RebuildInProcessPath = "/_devstack/rebuild-projections/in-process"
	// JobsPath + function invokes a service's job (a trigger-less function) with
	// the request body as its payload.
	JobsPath = "/_devstack/jobs/"
)

// Names of the emulated AWS resources.
const (
	Region  = "us-east-1"
	Account = "000000000000"
	BusName = "concertsys"
	// ArchiveName is the archive of every bus event devstack creates on first start,
	// named <bus>-archive as platform/infra's platform stack names the bus's archive
	// on AWS; devstack keeps it forever (RetentionDays 0) so a replay reaches the
	// whole history.
	ArchiveName = BusName + "-archive"
	// WorkersPerRule is how many deliveries run at once per bus rule. A delivery
	// mostly waits (HTTP calls back into devstack, group-committed fsyncs), so a
	// rule's throughput is about WorkersPerRule / latency: 16 capped the read side
	// below what 16 writers produce on 2 vCPUs and it fell seconds behind. Lambda
	// runs far more invocations at once; the consumers are built for that.
	WorkersPerRule = 64
	// EventLogFile is the event log's file in the data directory.
	EventLogFile = "eventlog.db"
)

// Config configures a stack.
type Config struct {
	// Addr is the listen address; "127.0.0.1:0" picks a free port.
	Addr string
	// DataDir holds every durable store. Ignored when InMemory.
	DataDir string
	// InMemory runs on a temporary directory removed by Close.
	InMemory bool
	// Auth turns the organizer JWT authorizer on.
	Auth bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// AllowHosts are Host names served besides loopback names and the Addr host;
	// AllowOrigins are browser origins (scheme://host[:port]) allowed to change
	// state and open WebSockets besides devstack's own. See guard.
	AllowHosts   []string
	AllowOrigins []string
	// Pprof serves the Go profiler on /debug/pprof/ (off by default).
	Pprof bool
	// Limits bound what clients can hold; zero fields take the defaults.
	Limits Limits
	// TimeScale multiplies the queues' visibility timeouts (0: 1), so tests see a
	// failed event again quickly; the semantics stay AWS's.
	TimeScale float64
	// CredentialsFile, when set, is where the stack writes its issued /_aws keys
	// (mode 0600, the format of localiam.CredentialsFile): the way SDK scripts and
	// `devstack tail` find the keys of an in-memory stack, which keeps them nowhere
	// else. An in-memory stack removes the file on Close.
	CredentialsFile string
	// OTLPEndpoint, when set, is a collector's OTLP/HTTP URL (e.g.
	// http://localhost:4318) every span is exported to as well.
	OTLPEndpoint string
	// SpanLimit bounds the in-process span store the inspector reads (0:
	// spanstore.DefaultLimit); the oldest spans are overwritten first.
	SpanLimit int
	// Services are the services that run (nil: every one); the others are built but
	// get no routes, rules or jobs, as if not deployed. A service added later to the
	// same data directory catches up by replay (see registry.go).
	Services []string
	// Faults injects failures (devstack -faults): into the invocations of the
	// consumers and the enricher, the bus's PutEvents entries and its deliveries.
	// nil injects nothing.
	Faults *faults.Injector
	// RetryBaseDelay and RetryMaxDelay shape the retry backoff of the bus (defaults
	// 200ms and 1m) and of the pipe (defaults 50ms and 5s). Tests scale them down to run fast; the semantics (attempts,
	// dead letters) stay the same.
	RetryBaseDelay, RetryMaxDelay time.Duration
}

// runs says whether the service name runs.
func (c Config) runs(name string) bool { return c.Services == nil || slices.Contains(c.Services, name) }

// jobTimeout is Lambda's longest: a job (a rebuild) may take that long on AWS too.
const jobTimeout = 15 * time.Minute

// Stack is a running system.
type Stack struct {
	log     *slog.Logger
	dataDir string
	url     string

	server *http.Server

	events   *boltlog.Log
	bus      *bus.Bus
	pipe     *pipe.Pipe
	issuer   *localauth.Issuer
	iam      *localiam.Store
	ws       *wsgateway.Gateway
	jobs     map[string]*lambdainvoke.Function // by function name
	views    projections.ViewStore             // the projections' read model (in-process rebuild)
	faults   *faults.Injector
	spans    *spanstore.Store
	inspect  *inspector
	queues   *queue.Broker
	mappings []*queue.Mapping
	// timeScale and deadLetterRetention size the queues (Config.TimeScale, Limits).
	timeScale           float64
	deadLetterRetention time.Duration
	closers             []func() error // stores, closed last, in reverse order
	limits              Limits
	pprof               bool
	sweepStop           context.CancelFunc
	sweepDone           chan struct{}
	bodies              bodyWatch // bodies of tracked requests, cut off when draining
	ready               atomic.Bool
	draining            atomic.Bool
	// inflight is read-locked by every client request while it runs; Close takes
	// the write lock once to wait for them (draining turns new ones away first).
	inflight sync.RWMutex
}

// Start opens the stores, builds the services and starts serving. On error everything
// already opened is closed again.
func Start(ctx context.Context, cfg Config) (st *Stack, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// Every line the services log carries the trace, correlation and causation ids.
	cfg.Logger = slog.New(tracing.NewLogHandler(cfg.Logger.Handler()))
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if err := checkServices(cfg.Services); err != nil {
		return nil, err
	}
	g, err := newGuard(cfg.Addr, cfg.AllowHosts, cfg.AllowOrigins)
	if err != nil {
		return nil, err
	}
	s := &Stack{log: cfg.Logger, limits: cfg.Limits, pprof: cfg.Pprof, faults: cfg.Faults, sweepDone: make(chan struct{}),
		spans: spanstore.New(cfg.SpanLimit), inspect: newInspector()}
	defer func() {
		if err != nil {
			s.closeStores()
		}
	}()
	stopTracing, err := startTracing(ctx, s.spans, cfg.OTLPEndpoint)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() error { return stopTracing(context.Background()) })
	if cfg.InMemory {
		dir, err := os.MkdirTemp("", "devstack-*")
		if err != nil {
			return nil, fmt.Errorf("temp data dir: %w", err)
		}
		s.dataDir = dir
		s.closers = append(s.closers, func() error { return os.RemoveAll(dir) })
	} else {
		if cfg.DataDir == "" {
			return nil, errors.New("stack: DataDir is required unless InMemory")
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		s.dataDir = cfg.DataDir
	}

	// Listen first: the services' AWS clients need the address.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	s.closers = append(s.closers, func() error { ln.Close(); return nil })
	s.url = "http://" + ln.Addr().String()
	g.hosts[hostOnly(ln.Addr().String())] = true // e.g. [::] for -addr :8080: the services call s.url

	s.events, err = boltlog.Open(filepath.Join(s.dataDir, EventLogFile))
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.events.Close)

	busDir := filepath.Join(s.dataDir, "bus")
	if cfg.InMemory {
		busDir = ""
	}
	s.bus, err = bus.New(bus.Options{
		Name: BusName, Account: Account, Region: Region, DataDir: busDir, Logger: s.log.With("component", "bus"),
		// Lambda runs many invocations of a target at once; four workers per rule
		// would make the local read model lag far behind under load.
		WorkersPerRule: WorkersPerRule,
		// Room for a tail reader (devstack tail, loadgen) to fall behind briefly
		// without missing events.
		TailBuffer: 8192,
		MaxTails:   cfg.Limits.Tails, DeadLetterRetention: cfg.Limits.DeadLetterRetention,
		Faults: cfg.Faults, RetryBaseDelay: cfg.RetryBaseDelay, RetryMaxDelay: cfg.RetryMaxDelay,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	s.bus.Observe(busTracer{inspect: s.inspect})
	// Close closes the bus before the stores; this is for a failed Start.
	s.closers = append(s.closers, func() error { return s.bus.Close(context.Background()) })
	if err := ensureArchive(s.bus); err != nil {
		return nil, err
	}
	queuesDir := s.dataDir
	if cfg.InMemory {
		queuesDir = ""
	}
	if err := s.openQueues(queuesDir); err != nil {
		return nil, err
	}
	s.timeScale, s.deadLetterRetention = cfg.TimeScale, cfg.Limits.DeadLetterRetention
	if s.timeScale == 0 {
		s.timeScale = 1
	}
	if s.timeScale < 0 {
		return nil, fmt.Errorf("stack: TimeScale %v, want a positive factor", s.timeScale)
	}

	if err := s.openIAM(cfg); err != nil {
		return nil, err
	}
	awsCfg := aws.Config{
		Region: Region,
		// Every bus worker may hold a connection to devstack itself; the SDK's
		// default of 10 idle connections per host would churn sockets under load.
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConnsPerHost = 4 * WorkersPerRule
		}),
	}
	env := environment{
		dataDir: s.dataDir,
		events:  s.events,
		// Each service signs with its own keys, so /_aws applies its policy.
		eventBridge: eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) {
			o.BaseEndpoint = aws.String(s.url + EventsAPIPath)
			o.Credentials = s.credentialsProvider(localiam.Projections)
		}),
		management: apigatewaymanagementapi.NewFromConfig(awsCfg, func(o *apigatewaymanagementapi.Options) {
			o.BaseEndpoint = aws.String(s.url + ManagementPath)
			o.Credentials = s.credentialsProvider(localiam.Notifications)
		}),
		busName: BusName,
		logger:  s.log,
		replay: projections.ReplayTarget{ArchiveARN: s.bus.ArchiveARN(ArchiveName), EventBusARN: s.bus.ARN(),
			RuleARN: s.bus.RuleARN(projections.SubscriptionName)},
		eventBridgeAs: func(principal string) *eventbridge.Client {
			return eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) {
				o.BaseEndpoint = aws.String(s.url + EventsAPIPath)
				o.Credentials = s.credentialsProvider(principal)
			})
		},
		runs: cfg.runs,
		workerQueue: func(svc string, w service.QueueWorker) (*queue.Queue, error) {
			return s.newConsumedQueue(svc, WorkerQueueName(svc, w.Queue), WorkerQueueName(svc, w.Queue), w.MaxReceiveCount)
		},
	}
	svcs, err := buildServices(ctx, env)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, svcs.closers...)
	s.views = svcs.projectionViews

	var httpRoutes []service.HTTPRoute
	var wsRoutes []service.WebSocketRoute
	var enricher *service.Enricher
	var source string
	s.jobs = map[string]*lambdainvoke.Function{}
	for _, svc := range svcs.services {
		if !cfg.runs(svc.Name) {
			continue
		}
		for _, j := range svc.Jobs {
			s.jobs[j.Function] = lambdainvoke.New(j.Function, lambdainvoke.ARN(Region, Account, j.Function), j.Handler, jobTimeout)
		}
		httpRoutes = append(httpRoutes, svc.HTTPRoutes...)
		wsRoutes = append(wsRoutes, svc.WebSocketRoutes...)
		for _, c := range svc.Consumers {
			if err := s.subscribeThroughQueue(svc.Name, c); err != nil {
				return nil, fmt.Errorf("subscribe %s/%s: %w", svc.Name, c.Function, err)
			}
		}
		for _, w := range svc.QueueWorkers {
			if err := s.startWorker(svc.Name, w); err != nil {
				return nil, fmt.Errorf("%s/%s: %w", svc.Name, w.Function, err)
			}
		}
		for i := range svc.Enrichers {
			if enricher != nil {
				return nil, fmt.Errorf("%s: devstack runs one pipe, from the concerts event log", svc.Name)
			}
			enricher, source = &svc.Enrichers[i], svc.Name
		}
	}

	var authorizer *localauth.Verifier
	if cfg.Auth {
		s.issuer, err = localauth.LoadOrCreate(s.dataDir)
		if err != nil {
			return nil, err
		}
		authorizer = s.issuer.Verifier()
	}
	api, err := httpgateway.New(httpRoutes, httpgateway.Options{
		Authorizer: authorizer, Logger: s.log.With("component", "http"), AccountID: Account, Region: Region,
	})
	if err != nil {
		return nil, fmt.Errorf("http gateway: %w", err)
	}
	s.ws, err = wsgateway.New(wsRoutes, wsgateway.Options{
		Logger: s.log.With("component", "ws"), MaxConnections: cfg.Limits.WebSockets, MaxConnectionsPerClient: cfg.Limits.WebSocketsPerClient,
	})
	if err != nil {
		return nil, fmt.Errorf("websocket gateway: %w", err)
	}

	if enricher != nil {
		var cp pipe.Checkpoint = &pipe.MemoryCheckpoint{}
		var dead pipe.DeadLetterStore = &pipe.MemoryDeadLetters{}
		if !cfg.InMemory {
			cp = pipe.NewFileCheckpoint(filepath.Join(s.dataDir, "pipe-"+source+".checkpoint"))
			dead = pipe.NewFileDeadLetters(filepath.Join(s.dataDir, "pipe-"+source+"-dead-letters.json"))
		}
		s.pipe, err = pipe.Start(pipe.Config{
			Name: source + "-events", Feed: s.events, Enricher: *enricher, Bus: s.bus, Source: source,
			Checkpoint: cp, Region: Region, Account: Account, Table: source + "-events",
			Logger: s.log.With("component", "pipe"), Faults: cfg.Faults,
			MinBackoff: cfg.RetryBaseDelay, MaxBackoff: cfg.RetryMaxDelay,
			MaxRetryAttempts: service.PipeMaxRetryAttempts, DeadLetters: dead,
		})
		if err != nil {
			return nil, err
		}
	}

	s.server = &http.Server{
		Handler:           g.wrap(s.routes(api)),
		ReadHeaderTimeout: cfg.Limits.ReadHeaderTimeout,
		ReadTimeout:       cfg.Limits.ReadTimeout,
		WriteTimeout:      cfg.Limits.WriteTimeout,
		IdleTimeout:       cfg.Limits.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", "err", err)
		}
	}()
	s.startSweeps(svcs.sweepers)
	s.ready.Store(true)
	for _, hook := range svcs.afterStart {
		if err := hook(ctx, s); err != nil {
			s.log.Error("after start", "err", err)
		}
	}
	return s, nil
}

// URL is the base URL the stack serves on, e.g. http://127.0.0.1:8080.
func (s *Stack) URL() string { return s.url }

// DataDir is where the stores live (a temporary directory when in memory).
func (s *Stack) DataDir() string { return s.dataDir }

// Spans is the stack's span store (what the inspector shows).
func (s *Stack) Spans() *spanstore.Store { return s.spans }

// Issuer signs tokens the stack accepts; nil when auth is off.
func (s *Stack) Issuer() *localauth.Issuer { return s.issuer }

func (s *Stack) routes(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() || s.draining.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		// The pid lets whoever started the process tell its own stack from another one
		// that holds the port.
		body := map[string]any{"status": "ok", "pid": os.Getpid()}
		if st := s.faults.Status(); st != nil {
			body["faults"] = st // the active SPEC (seed included) and what it injected so far
		}
		httpapi.WriteJSON(w, http.StatusOK, body)
	})
	mux.Handle("GET /{$}", board.Handler())
	s.inspectorRoutes(mux)
	mux.HandleFunc("GET "+LocalTokenPath, s.serveLocalToken)
	mux.Handle(WebSocketPath, s.external(s.ws, false)) // connections live on; Close ends them
	guard := localiam.Guard{Store: s.iam}
	events := guard.Events(eventsapi.NewHandler(s.bus))
	mux.Handle(EventsAPIPath, events)
	mux.Handle(EventsAPIPath+"/", events)
	// The guard lets only the developer use paths ending in /dead-letters[/redrive].
	mux.Handle(PipeDeadLettersPath, guard.Events(http.HandlerFunc(s.servePipeDeadLetters)))
	mux.Handle(PipeRedrivePath, guard.Events(http.HandlerFunc(s.servePipeRedrive)))
	mgmt := guard.Management(http.StripPrefix(ManagementPath, s.ws.ManagementHandler()))
	mux.Handle(ManagementPath+"/", mgmt)
	sqsAPI := guard.SQS(&queue.API{Broker: s.queues, BaseURL: s.url + SQSPath, Region: Region, Account: Account})
	mux.Handle(SQSPath, sqsAPI)
	mux.Handle(SQSPath+"/", sqsAPI)
	mux.HandleFunc("POST "+JobsPath+"{function}", s.serveJob)
	mux.HandleFunc("POST "+RebuildInProcessPath, s.serveRebuildInProcess)
	// Profiles of the whole stack, for finding where local latency goes: only with
	// -pprof, since they reveal memory contents and cost CPU.
	if s.pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Time{}) // ?seconds= may exceed WriteTimeout
			pprof.Profile(w, r)
		})
	}
	mux.Handle("/", s.external(api, true))
	return mux
}

// external guards what clients call: refused while draining, tracked so Close can
// wait for requests in flight. The AWS endpoints stay open while draining because the
// services' own deliveries still call them.
func (s *Stack) external(h http.Handler, track bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if track {
			s.inflight.RLock()
			defer s.inflight.RUnlock()
			defer s.bodies.watch(w, r)()
		}
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"message":"Service Unavailable"}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Close stops taking requests, waits for the ones in flight, drains the pipe and the
// bus deliveries (bounded by ctx), then closes the stores. Work acknowledged before
// Close is never lost: what ctx cuts short is redelivered on the next start.
func (s *Stack) Close(ctx context.Context) error {
	s.draining.Store(true)
	s.bodies.cutOff()
	s.stopSweeps()
	var errs []error
	waited := make(chan struct{})
	go func() { s.inflight.Lock(); s.inflight.Unlock(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("requests in flight: %w", ctx.Err()))
	}
	if s.pipe != nil {
		if err := s.pipe.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// The consumers before the bus: their batches in flight still put events on it.
	if err := s.closeMappings(ctx); err != nil {
		errs = append(errs, fmt.Errorf("event source mappings: %w", err))
	}
	if err := s.bus.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("bus: %w", err))
	}
	if err := s.ws.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("websocket gateway: %w", err))
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := s.server.Shutdown(shutdownCtx); err != nil {
		s.server.Close()
	}
	errs = append(errs, s.closeStores())
	return errors.Join(errs...)
}

func (s *Stack) closeStores() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}

// ensureArchive creates ArchiveName unless a previous start did.
func ensureArchive(b *bus.Bus) error {
	_, err := b.CreateArchive(bus.ArchiveConfig{Name: ArchiveName, Description: "every event of the " + BusName + " bus, for replay"})
	if err != nil && !errors.Is(err, bus.ErrArchiveExists) {
		return fmt.Errorf("bus archive: %w", err)
	}
	return nil
}
