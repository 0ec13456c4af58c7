// Command loadgen measures devstack end to end: it starts devstack as a process (or
// uses one at -addr), drives write commands at a target rate or as fast as possible,
// and reports throughput and latency percentiles of four things, each from the
// moment the write was sent (or, with -rate, was due):
//
//	ack        the write's 2xx response
//	bus        the event with the written version passing the bus (devstack's tail stream)
//	readmodel  GET /concerts/{id} showing a version >= the written one (sampled writes)
//	websocket  a concert.updated with a version >= the written one on /ws (subscribed to "*")
//
// Example:
//
//	go run ./tools/loadgen -duration 20s -concurrency 16 -out loadgen.json
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/coder/websocket"
	"github.com/concertsys/tools/internal/devstackproc"
	"github.com/concertsys/tools/local/localiam"
)

type config struct {
	addr        string
	devstack    string
	dataDir     string
	rate        float64
	duration    time.Duration
	concurrency int
	concerts    int
	readSample  float64
	settle      time.Duration
	out         string
	credsFile   string
	cpuProfile  string
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "", "use the devstack already running at this address (default: start one)")
	flag.StringVar(&cfg.devstack, "devstack", "", "devstack binary to start (default: go build it)")
	flag.StringVar(&cfg.dataDir, "data", "", "data directory for the started devstack (default: -in-memory)")
	flag.Float64Var(&cfg.rate, "rate", 0, "target writes per second (0: as fast as the workers go)")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "how long to drive writes")
	flag.IntVar(&cfg.concurrency, "concurrency", 16, "concurrent writers")
	flag.IntVar(&cfg.concerts, "concerts", 64, "concerts the writes are spread over")
	// Each sampled write polls GET /concerts/{id} some 20-40 times until it shows, and
	// those GETs take the CPU of the stages being measured: 2% gives hundreds of samples
	// per run at a few hundred writes/s and up, without the polling load growing to
	// several GETs per write.
	flag.Float64Var(&cfg.readSample, "read-sample", 0.02, "fraction of writes whose read-model visibility is polled")
	flag.DurationVar(&cfg.settle, "settle", 15*time.Second, "how long to wait for outstanding events after the last write")
	flag.StringVar(&cfg.credsFile, "credentials-file", "", "with -addr: the devstack's /_aws keys file for the signed bus tail (default: the -data directory's, else .devstack's)")
	flag.StringVar(&cfg.out, "out", "", "also write the results as JSON to this file")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the started devstack over the write phase to this file (starts it with -pprof)")
	ceiling := flag.Bool("ceiling", false, "measure the bare-HTTP ceiling instead: the same client and -concurrency against a do-nothing handler for -duration")
	summary := flag.String("summary", "", "write the bench summary (design keys) to this file from -from-load, -from-ceiling and -from-bench, then exit")
	var in summaryInputs
	var benchFiles string
	flag.StringVar(&in.load, "from-load", "", "with -summary: the -out JSON of the durable run at the highest rate")
	flag.StringVar(&in.ceiling, "from-ceiling", "", "with -summary: the -out JSON of the -ceiling run")
	flag.StringVar(&benchFiles, "from-bench", "", "with -summary: comma-separated go test -bench outputs")
	flag.StringVar(&in.init, "from-init", "", "with -summary: the init.json of tools/initbench (optional; init_ms stays null without it)")
	flag.Parse()
	var err error
	switch {
	case *summary != "":
		if in.load == "" || in.ceiling == "" || benchFiles == "" {
			err = errNoInputs
		} else {
			in.bench = strings.Split(benchFiles, ",")
			err = writeSummary(*summary, in)
		}
	case *ceiling:
		err = runCeiling(context.Background(), cfg)
	default:
		err = run(context.Background(), cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	if cfg.concurrency < 1 || cfg.concerts < 1 || cfg.duration <= 0 {
		return errors.New("-concurrency, -concerts and -duration must be positive")
	}
	base := cfg.addr
	if base == "" {
		proc, err := startDevstack(ctx, cfg)
		if err != nil {
			return err
		}
		defer proc.stop()
		base = proc.url
		cfg.credsFile = filepath.Join(proc.tmp, "keys.json")
	} else if !strings.HasPrefix(base, "http") {
		base = "http://" + base
	}
	client := newClient(cfg)
	obs := newObserver()

	// Observers attach before the first write so nothing is missed.
	tailCtx, stopTail := context.WithCancel(ctx)
	defer stopTail()
	tailReady := make(chan error, 1)
	creds, err := developerKeys(cfg)
	if err != nil {
		return err
	}
	go obs.tailBus(tailCtx, client, base, creds, tailReady)
	if err := <-tailReady; err != nil {
		return err
	}
	wsReady := make(chan error, 1)
	go obs.watchWebSocket(tailCtx, base, wsReady)
	if err := <-wsReady; err != nil {
		return err
	}

	ids, err := scheduleConcerts(ctx, client, base, cfg.concerts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadgen: %d concerts scheduled; driving writes for %s with %d workers (rate %s)\n",
		len(ids), cfg.duration, cfg.concurrency, rateString(cfg.rate))

	profiled := make(chan error, 1)
	if cfg.cpuProfile != "" {
		go func() { profiled <- captureCPUProfile(ctx, client, base, cfg.duration, cfg.cpuProfile) }()
	} else {
		profiled <- nil
	}
	writes, elapsed := drive(ctx, cfg, client, base, ids, obs)
	if err := <-profiled; err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}

	// Wait until every acknowledged write was seen on the bus and the WebSocket, or settle runs out.
	deadline := time.Now().Add(cfg.settle)
	for time.Now().Before(deadline) && !obs.complete(writes) {
		time.Sleep(50 * time.Millisecond)
	}
	stopTail()
	res := summarize(cfg, writes, elapsed, obs)
	res.print(os.Stdout)
	if cfg.cpuProfile != "" {
		fmt.Printf("cpu profile of devstack over the write phase: %s (go tool pprof -top %s; %d acked writes)\n",
			cfg.cpuProfile, cfg.cpuProfile, res.Acked)
	}
	if cfg.out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(cfg.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if res.Errors > 0 && res.Acked == 0 {
		return fmt.Errorf("every write failed (%d errors)", res.Errors)
	}
	return nil
}

func rateString(r float64) string {
	if r <= 0 {
		return "unbounded"
	}
	return fmt.Sprintf("%.0f/s", r)
}

// --- devstack process -------------------------------------------------------

type devstackProc struct {
	cmd  *exec.Cmd
	url  string
	tmp  string
	done chan struct{}
}

func startDevstack(ctx context.Context, cfg config) (*devstackProc, error) {
	tmp, err := os.MkdirTemp("", "loadgen-*")
	if err != nil {
		return nil, err
	}
	bin := cfg.devstack
	if bin == "" {
		bin = filepath.Join(tmp, "devstack")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/concertsys/tools/devstack")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("build devstack (run loadgen from the repository or pass -devstack): %w", err)
		}
	}
	addr, err := devstackproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"-addr", addr, "-auth=off", "-log-level", "warn", "-credentials-file", filepath.Join(tmp, "keys.json")}
	if cfg.dataDir != "" {
		args = append(args, "-data", cfg.dataDir)
	} else {
		args = append(args, "-in-memory")
	}
	if cfg.cpuProfile != "" {
		args = append(args, "-pprof")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start devstack: %w", err)
	}
	p := &devstackProc{cmd: cmd, url: "http://" + addr, tmp: tmp, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if devstackproc.ServedBy(p.url, cmd.Process.Pid) {
			return p, nil
		}
		select {
		case <-p.done:
			os.RemoveAll(tmp)
			return nil, errors.New("devstack exited during startup")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("devstack not healthy after 30s")
		}
	}
}

func (p *devstackProc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	os.RemoveAll(p.tmp)
}

// --- observers --------------------------------------------------------------

type key struct {
	id      string
	version int64
}

type sighting struct {
	version int64
	at      time.Time
}

// observer records when each (concert, version) showed up on the bus and on the
// WebSocket.
type observer struct {
	mu  sync.Mutex
	bus map[key]time.Time
	ws  map[string][]sighting // per concert, in arrival order (versions increase)

	busEvents, wsMessages atomic.Int64
}

func newObserver() *observer {
	return &observer{bus: map[key]time.Time{}, ws: map[string][]sighting{}}
}

// developerKeys reads the devstack's developer principal, which the bus tail needs.
func developerKeys(cfg config) (aws.Credentials, error) {
	path := cfg.credsFile
	if path == "" {
		dir := cfg.dataDir
		if dir == "" {
			dir = ".devstack"
		}
		path = filepath.Join(dir, localiam.CredentialsFile)
	}
	store, err := localiam.Load(path)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("%w (pass -credentials-file or -data of the running devstack)", err)
	}
	c, err := store.Credentials(localiam.Developer)
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}, nil
}

func (o *observer) tailBus(ctx context.Context, client *http.Client, base string, creds aws.Credentials, ready chan<- error) {
	pattern := url.QueryEscape(`{"source":["concerts"]}`)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_aws/events/tail?pattern="+pattern, nil)
	const emptyPayload = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // SHA-256 of nothing
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, emptyPayload, "events", "us-east-1", time.Now()); err != nil {
		ready <- fmt.Errorf("tail: sign: %w", err)
		return
	}
	c := *client
	c.Timeout = 0 // a stream
	resp, err := c.Do(req)
	if err != nil {
		ready <- fmt.Errorf("tail: %w", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ready <- fmt.Errorf("tail: %s", resp.Status)
		return
	}
	ready <- nil
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		now := time.Now()
		var ev struct {
			Detail struct {
				Metadata struct {
					AggregateID      string `json:"aggregateId"`
					AggregateVersion int64  `json:"aggregateVersion"`
				} `json:"metadata"`
			} `json:"detail"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		k := key{ev.Detail.Metadata.AggregateID, ev.Detail.Metadata.AggregateVersion}
		o.busEvents.Add(1)
		o.mu.Lock()
		if _, seen := o.bus[k]; !seen { // at least once: keep the first delivery
			o.bus[k] = now
		}
		o.mu.Unlock()
	}
}

func (o *observer) watchWebSocket(ctx context.Context, base string, ready chan<- error) {
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		ready <- fmt.Errorf("websocket: %w", err)
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","concertId":"*"}`)); err != nil {
		ready <- fmt.Errorf("websocket subscribe: %w", err)
		return
	}
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			ready <- fmt.Errorf("websocket: %w", err)
			return
		}
		var m struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(msg, &m) == nil && m.Type == "subscribed" {
			break
		}
	}
	ready <- nil
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			return
		}
		now := time.Now()
		var m struct {
			Type      string `json:"type"`
			ConcertID string `json:"concertId"`
			Version   int64  `json:"version"`
		}
		if json.Unmarshal(msg, &m) != nil || m.Type != "concert.updated" {
			continue
		}
		o.wsMessages.Add(1)
		o.mu.Lock()
		o.ws[m.ConcertID] = append(o.ws[m.ConcertID], sighting{m.Version, now})
		o.mu.Unlock()
	}
}

// busAt is when the event of version v of id passed the bus.
func (o *observer) busAt(id string, v int64) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.bus[key{id, v}]
	return t, ok
}

// wsAt is the first notification showing version v or later of id (an update may
// carry several versions at once).
func (o *observer) wsAt(id string, v int64) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var best time.Time
	for _, s := range o.ws[id] {
		if s.version >= v && (best.IsZero() || s.at.Before(best)) {
			best = s.at
		}
	}
	return best, !best.IsZero()
}

func (o *observer) complete(writes []*write) bool {
	for _, w := range writes {
		if w.err != nil {
			continue
		}
		if _, ok := o.busAt(w.id, w.version); !ok {
			return false
		}
		if _, ok := o.wsAt(w.id, w.version); !ok {
			return false
		}
		if w.sampled && w.readAt.Load() == nil {
			return false
		}
	}
	return true
}

// --- writes -----------------------------------------------------------------

type write struct {
	id      string
	start   time.Time
	ack     time.Time
	version int64
	err     error
	sampled bool
	readAt  atomic.Pointer[time.Time]
}

func scheduleConcerts(ctx context.Context, client *http.Client, base string, n int) ([]string, error) {
	ids := make([]string, n)
	starts := time.Now().Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339)
	for i := range ids {
		body := fmt.Sprintf(`{"artist":"Load Band %d","venue":"Bench Hall","startsAt":%q,"capacity":1000000,"priceCents":4500}`, i, starts)
		var out struct {
			ID string `json:"id"`
		}
		if err := post(ctx, client, http.MethodPost, base+"/concerts", body, &out); err != nil {
			return nil, fmt.Errorf("schedule concert: %w", err)
		}
		ids[i] = out.ID
	}
	return ids, nil
}

func drive(ctx context.Context, cfg config, client *http.Client, base string, ids []string, obs *observer) ([]*write, time.Duration) {
	var (
		mu     sync.Mutex
		writes []*write
		wg     sync.WaitGroup
		polls  sync.WaitGroup
	)
	begin := time.Now()
	end := begin.Add(cfg.duration)
	// With a rate, a scheduler hands out due times and latency counts from the due
	// time, so a stalled server is not hidden by writers that fell behind.
	var due chan time.Time
	if cfg.rate > 0 {
		due = make(chan time.Time, cfg.concurrency)
		go func() {
			defer close(due)
			interval := time.Duration(float64(time.Second) / cfg.rate)
			for t := begin; t.Before(end); t = t.Add(interval) {
				time.Sleep(time.Until(t))
				due <- t
			}
		}()
	}
	for w := 0; w < cfg.concurrency; w++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(worker), uint64(begin.UnixNano())))
			for {
				var start time.Time
				if due != nil {
					t, ok := <-due
					if !ok {
						return
					}
					start = t
				} else {
					if time.Now().After(end) {
						return
					}
					start = time.Now()
				}
				id := ids[rng.IntN(len(ids))]
				wr := &write{id: id, start: start}
				var path, body string
				method := http.MethodPost
				if rng.IntN(5) == 0 {
					method, path = http.MethodPatch, "/concerts/"+id
					body = fmt.Sprintf(`{"priceCents":%d}`, 1000+rng.IntN(9000))
				} else {
					path, body = "/concerts/"+id+"/tickets", `{"quantity":1}`
				}
				var out struct {
					Version int64 `json:"version"`
				}
				wr.err = post(ctx, client, method, base+path, body, &out)
				wr.ack = time.Now()
				wr.version = out.Version
				if wr.err == nil && rng.Float64() < cfg.readSample {
					wr.sampled = true
					polls.Add(1)
					go func() {
						defer polls.Done()
						pollReadModel(ctx, client, base, wr, end.Add(cfg.settle))
					}()
				}
				mu.Lock()
				writes = append(writes, wr)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(begin)
	polls.Wait()
	return writes, elapsed
}

// pollReadModel polls GET /concerts/{id} until it shows the written version.
func pollReadModel(ctx context.Context, client *http.Client, base string, w *write, deadline time.Time) {
	for now := time.Now(); now.Before(deadline); now = time.Now() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/concerts/"+w.id, nil)
		resp, err := client.Do(req)
		if err == nil {
			var view struct {
				Version int64 `json:"version"`
			}
			ok := resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&view) == nil
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if ok && view.Version >= w.version {
				now := time.Now()
				w.readAt.Store(&now)
				return
			}
		}
		time.Sleep(pollInterval(now.Sub(w.start)))
	}
}

// pollInterval is the pause between read-model polls of a write whose latency so far
// is elapsed: 2ms, growing to elapsed/20 so the measurement stays within 5%. With a
// fixed 2ms every lagging write kept polling (thousands of GETs for a 10 s lag, about
// 130 now), so the polling load grew with the lag it measured and took devstack's
// CPU and bbolt locks from the projection, making it lag further.
func pollInterval(elapsed time.Duration) time.Duration {
	return max(2*time.Millisecond, elapsed/20)
}

func post(ctx context.Context, client *http.Client, method, u, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

// --- results ----------------------------------------------------------------

// Stage is the latency distribution of one stage, in milliseconds.
type Stage struct {
	Count   int     `json:"count"`
	Missing int     `json:"missing"`
	P50     float64 `json:"p50Ms"`
	P95     float64 `json:"p95Ms"`
	P99     float64 `json:"p99Ms"`
	Max     float64 `json:"maxMs"`
}

// Result is what loadgen prints and writes to -out.
type Result struct {
	StartedAt    time.Time        `json:"startedAt"`
	Duration     float64          `json:"durationSeconds"`
	Concurrency  int              `json:"concurrency"`
	TargetRate   float64          `json:"targetRate,omitempty"`
	Concerts     int              `json:"concerts"`
	Writes       int              `json:"writes"`
	Acked        int              `json:"acked"`
	Errors       int              `json:"errors"`
	ErrorSamples []string         `json:"errorSamples,omitempty"`
	Throughput   float64          `json:"ackedPerSecond"`
	BusEvents    int64            `json:"busEventsSeen"`
	WSMessages   int64            `json:"wsMessagesSeen"`
	Stages       map[string]Stage `json:"stages"`
	GoMaxProcs   int              `json:"cpus"`
}

func summarize(cfg config, writes []*write, elapsed time.Duration, obs *observer) Result {
	res := Result{
		StartedAt: time.Now().UTC(), Duration: elapsed.Seconds(), Concurrency: cfg.concurrency,
		TargetRate: cfg.rate, Concerts: cfg.concerts, Writes: len(writes), Stages: map[string]Stage{},
		BusEvents: obs.busEvents.Load(), WSMessages: obs.wsMessages.Load(), GoMaxProcs: runtime.NumCPU(),
	}
	var ack, bus, read, ws []float64
	var missBus, missWS, missRead int
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, w := range writes {
		if w.err != nil {
			res.Errors++
			if len(res.ErrorSamples) < 5 {
				res.ErrorSamples = append(res.ErrorSamples, w.err.Error())
			}
			continue
		}
		res.Acked++
		ack = append(ack, ms(w.ack.Sub(w.start)))
		if t, ok := obs.busAt(w.id, w.version); ok {
			bus = append(bus, ms(t.Sub(w.start)))
		} else {
			missBus++
		}
		if t, ok := obs.wsAt(w.id, w.version); ok {
			ws = append(ws, ms(t.Sub(w.start)))
		} else {
			missWS++
		}
		if w.sampled {
			if t := w.readAt.Load(); t != nil {
				read = append(read, ms(t.Sub(w.start)))
			} else {
				missRead++
			}
		}
	}
	res.Throughput = float64(res.Acked) / elapsed.Seconds()
	res.Stages["ack"] = stage(ack, 0)
	res.Stages["bus"] = stage(bus, missBus)
	res.Stages["readmodel"] = stage(read, missRead)
	res.Stages["websocket"] = stage(ws, missWS)
	return res
}

func stage(v []float64, missing int) Stage {
	sort.Float64s(v)
	s := Stage{Count: len(v), Missing: missing}
	if len(v) == 0 {
		return s
	}
	pct := func(p float64) float64 {
		i := int(p*float64(len(v))+0.5) - 1
		return v[min(max(i, 0), len(v)-1)]
	}
	s.P50, s.P95, s.P99, s.Max = pct(0.50), pct(0.95), pct(0.99), v[len(v)-1]
	return s
}

func (r Result) print(w io.Writer) {
	fmt.Fprintf(w, "writes: %d acked, %d errors in %.1fs = %.0f writes/s (%d workers, rate %s, %d concerts, %d CPUs)\n",
		r.Acked, r.Errors, r.Duration, r.Throughput, r.Concurrency, rateString(r.TargetRate), r.Concerts, r.GoMaxProcs)
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
	fmt.Fprintf(w, "%-38s %8s %8s %9s %9s %9s %9s\n", "latency from write start (ms)", "count", "missing", "p50", "p95", "p99", "max")
	names := map[string]string{
		"ack":       "write acknowledged",
		"bus":       "event on the bus",
		"readmodel": "read model shows it (sampled)",
		"websocket": "WebSocket concert.updated",
	}
	for _, k := range []string{"ack", "bus", "readmodel", "websocket"} {
		s := r.Stages[k]
		fmt.Fprintf(w, "%-38s %8d %8d %9.2f %9.2f %9.2f %9.2f\n", names[k], s.Count, s.Missing, s.P50, s.P95, s.P99, s.Max)
	}
}
