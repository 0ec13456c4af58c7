// Command devstack runs the whole system in one process: the three services' very
// Lambda handlers behind an HTTP and WebSocket API Gateway emulator, an embedded
// durable event log, an EventBridge-compatible bus, and the Pipe from the log to the
// bus.
//
//	devstack [-addr 127.0.0.1:8080] [-data .devstack] [-in-memory] [-auth=off]
//	         [-allow-host NAME] [-allow-origin URL] [-pprof] [-max-tails N] [-max-ws N]
//	         [-faults SPEC] ...
//	devstack token [-data DIR]                       print an organizer JWT
//	devstack tail [-addr A] [-pattern JSON]          print bus events as they pass
//	devstack dead-letters [-addr A] [list|redrive [ID...]]
//	devstack replay [-addr A] [-archive NAME] [-rules r1,r2] [-from T] [-to T]
//	                                                 replay the bus archive to rules
//	devstack rebuild-projections [-addr A] [-in-process]  replay the bus archive to the read model
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/concertsys/tools/devstack/internal/stack"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/faults"
	"github.com/concertsys/tools/local/localauth"
	"github.com/concertsys/tools/local/spanstore"
	"github.com/concertsys/tools/local/wsgateway"
)

const (
	defaultAddr = "127.0.0.1:8080"
	defaultData = ".devstack"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "token":
			return cmdToken(args[1:], stdout)
		case "credentials":
			return cmdCredentials(args[1:], stdout)
		case "tail":
			return cmdTail(args[1:], stdout)
		case "dead-letters":
			return cmdDeadLetters(args[1:], stdout)
		case "replay":
			return cmdReplay(args[1:], stdout)
		case "rebuild-projections":
			return cmdRebuild(args[1:], stdout)
		case "health":
			return cmdHealth(args[1:], stdout)
		}
	}
	return serve(args, stderr)
}

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	addr := fs.String("addr", defaultAddr, "listen address")
	data := fs.String("data", defaultData, "data directory (durable)")
	inMemory := fs.Bool("in-memory", false, "keep everything in a temporary directory removed on exit")
	auth := onOff(true)
	fs.Var(&auth, "auth", "on: organizer routes need a JWT (see devstack token); -auth=off: no authentication")
	logFormat := fs.String("log", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	credsFile := fs.String("credentials-file", "", "also write the issued /_aws keys to this file (0600); how clients find an -in-memory devstack's keys")
	drain := fs.Duration("drain-timeout", 10*time.Second, "how long shutdown waits for the pipe and bus deliveries")
	var allowHosts, allowOrigins listFlag
	fs.Var(&allowHosts, "allow-host", "also serve this Host name besides loopback names (repeatable or comma-separated), e.g. localhost in a container")
	fs.Var(&allowOrigins, "allow-origin", "also let this browser origin change state and open WebSockets (repeatable or comma-separated), e.g. http://localhost:3000")
	pprofOn := fs.Bool("pprof", false, "serve the Go profiler on /debug/pprof/")
	otlp := fs.String("otlp", "", "also export every span by OTLP/HTTP to this collector URL, e.g. http://localhost:4318")
	maxSpans := fs.Int("max-spans", spanstore.DefaultLimit, "spans the inspector keeps in memory (the oldest are dropped first)")
	var only listFlag
	fs.Var(&only, "services", "run only these services (comma-separated; default every one): a service added later to the same -data catches up by replay")
	var faultSpec faultsFlag
	fs.Var(&faultSpec, "faults", "inject failures: comma-separated invoke=P,after=P,put=P,dup=P,delay=D,seed=N (see README, Fault mode)")
	timeScale := fs.Float64("time-scale", 1, "multiply the consumer queues' visibility timeouts (6 x 30 s) by this factor, e.g. 0.01 in tests; the semantics stay AWS's")
	var lim stack.Limits
	fs.IntVar(&lim.Tails, "max-tails", bus.DefaultMaxTails, "most /_aws/events/tail streams open at once")
	fs.IntVar(&lim.WebSockets, "max-ws", wsgateway.DefaultMaxConnections, "most WebSocket connections open at once")
	fs.IntVar(&lim.WebSocketsPerClient, "max-ws-per-client", wsgateway.DefaultMaxConnectionsPerClient, "most WebSocket connections open at once from one client address")
	fs.DurationVar(&lim.DeadLetterRetention, "dead-letter-retention", bus.DefaultDeadLetterRetention, "how long dead letters are kept before they are deleted")
	fs.DurationVar(&lim.ReadTimeout, "read-timeout", stack.DefaultReadTimeout, "longest time to read a request's headers and body")
	fs.DurationVar(&lim.WriteTimeout, "write-timeout", stack.DefaultWriteTimeout, "longest time to answer a request (not tails, WebSockets or jobs)")
	fs.DurationVar(&lim.IdleTimeout, "idle-timeout", stack.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: devstack [flags]                 run the whole system on -addr
       devstack token [-data DIR]        print an organizer JWT for that data directory
       devstack credentials [-data DIR] [-service NAME]   print AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
       devstack tail [-addr A] [-data DIR] [-pattern JSON]
       devstack dead-letters [-addr A] [-data DIR] [list | redrive [ID...]]
       devstack rebuild-projections [-addr A] [-in-process]

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unknown argument %q (subcommands: token, credentials, tail, dead-letters, rebuild-projections)", fs.Arg(0))
	}
	authOn := bool(auth)
	if *timeScale <= 0 || *timeScale > 1 {
		return fmt.Errorf("-time-scale: %v, want a factor in (0, 1]", *timeScale)
	}
	for name, v := range map[string]int{"-max-spans": *maxSpans, "-max-tails": lim.Tails, "-max-ws": lim.WebSockets, "-max-ws-per-client": lim.WebSocketsPerClient} {
		if v < 1 {
			return fmt.Errorf("%s: %d, want at least 1", name, v)
		}
	}
	for name, v := range map[string]time.Duration{"-dead-letter-retention": lim.DeadLetterRetention, "-read-timeout": lim.ReadTimeout, "-write-timeout": lim.WriteTimeout, "-idle-timeout": lim.IdleTimeout} {
		if v <= 0 {
			return fmt.Errorf("%s: %v, want a positive duration", name, v)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, opts)
	case "json":
		handler = slog.NewJSONHandler(stderr, opts)
	default:
		return fmt.Errorf("-log: %q, want text or json", *logFormat)
	}
	logger := slog.New(handler)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	st, err := stack.Start(ctx, stack.Config{
		Addr:       *addr,
		DataDir:    *data,
		InMemory:   *inMemory,
		Auth:       authOn,
		Logger:     logger,
		AllowHosts: allowHosts, AllowOrigins: allowOrigins, Pprof: *pprofOn, Limits: lim,

		CredentialsFile: *credsFile, TimeScale: *timeScale,
		OTLPEndpoint: *otlp, SpanLimit: *maxSpans,
		Services: only,
		Faults:   faultSpec.injector(),
	})
	if err != nil {
		return err
	}
	// Say where everything is, so `make dev` is enough to get going.
	ready := []any{"url", st.URL(), "board", st.URL() + "/", "api", st.URL() + "/concerts",
		"ws", "ws" + strings.TrimPrefix(st.URL(), "http") + "/ws", "data", st.DataDir(), "auth", authOn}
	if authOn && !*inMemory {
		ready = append(ready, "token", "devstack token -data "+st.DataDir())
	}
	if faultSpec.spec != nil {
		ready = append(ready, "faults", faultSpec.spec.String())
	}
	logger.Info("devstack ready", append(ready, "startup", time.Since(started).Round(time.Millisecond))...)
	if authOn && *inMemory {
		// The signing key dies with the temporary directory, so devstack token
		// cannot reach it: hand out a token here.
		if tok, err := st.Issuer().Token("local-organizer", []string{localauth.OrganizersGroup}, 12*time.Hour); err == nil {
			logger.Info("organizer token for this in-memory run", "token", tok)
		}
	}
	<-ctx.Done()
	stop() // a second signal kills the process the default way
	logger.Info("devstack shutting down", "drain_timeout", *drain)
	closeCtx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := st.Close(closeCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("devstack stopped")
	return nil
}

// onOff is a boolean flag that also takes on and off: -auth, -auth=on, -auth=off.
type onOff bool

func (o *onOff) String() string {
	if o != nil && bool(*o) {
		return "on"
	}
	return "off"
}

func (o *onOff) Set(s string) error {
	switch strings.ToLower(s) {
	case "on", "true", "1":
		*o = true
	case "off", "false", "0":
		*o = false
	default:
		return errors.New("want on or off")
	}
	return nil
}

func (o *onOff) IsBoolFlag() bool { return true }

// listFlag collects a repeatable, comma-separated flag: -allow-host a,b -allow-host c.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// faultsFlag is -faults SPEC, parsed when the flag is read, so a bad SPEC stops
// devstack before it opens anything. Without seed= the seed is random and the log
// line "devstack ready" and /healthz report it, so the run can be repeated.
type faultsFlag struct{ spec *faults.Spec }

func (f *faultsFlag) String() string {
	if f == nil || f.spec == nil {
		return ""
	}
	return f.spec.String()
}

func (f *faultsFlag) Set(s string) error {
	spec, err := faults.Parse(s, uint64(time.Now().UnixNano()))
	if err != nil {
		return err
	}
	f.spec = &spec
	return nil
}

// injector is nil without -faults: nothing is injected.
func (f *faultsFlag) injector() *faults.Injector {
	if f.spec == nil {
		return nil
	}
	return faults.New(*f.spec)
}
