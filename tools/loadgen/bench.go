package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CeilingResult is the bare-HTTP ceiling: the load generator's own client and
// concurrency against a handler that does nothing, on the same machine, so the write
// path's throughput can be read as a fraction of what plain HTTP reaches here.
type CeilingResult struct {
	StartedAt   time.Time `json:"startedAt"`
	Duration    float64   `json:"durationSeconds"`
	Concurrency int       `json:"concurrency"`
	Requests    int64     `json:"requests"`
	Errors      int64     `json:"errors"`
	ReqPerSec   float64   `json:"reqPerSecond"`
	CPUs        int       `json:"cpus"`
}

// runCeiling serves a do-nothing handler on a loopback port and drives GETs at it
// with the client loadgen uses for writes (same transport settings, same number of
// workers) for cfg.duration.
func runCeiling(ctx context.Context, cfg config) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	client := newClient(cfg)
	target := "http://" + ln.Addr().String() + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := CeilingResult{StartedAt: start.UTC(), Duration: elapsed.Seconds(), Concurrency: cfg.concurrency,
		Requests: ok.Load(), Errors: failed.Load(), ReqPerSec: float64(ok.Load()) / elapsed.Seconds(), CPUs: runtime.NumCPU()}
	fmt.Printf("bare-HTTP ceiling: %.0f req/s (%d requests, %d errors, %d workers, %.1f s)\n",
		res.ReqPerSec, res.Requests, res.Errors, res.Concurrency, res.Duration)
	return writeJSON(cfg.out, res)
}

func newClient(cfg config) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.concurrency * 2}, Timeout: 30 * time.Second}
}

func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Summary is bench-results/summary.json: one run's figures under the design's keys,
// so runs can be compared by a program. A figure this bench does not measure yet is
// null, with the reason in Notes.
type Summary struct {
	Machine Machine `json:"machine"`
	Date    string  `json:"date"`

	CeilingReqPerS           *float64           `json:"ceiling_req_per_s"`
	WritesPerS               *float64           `json:"writes_per_s"`
	AckP99Ms                 *float64           `json:"ack_p99_ms"`
	BusP99Ms                 *float64           `json:"bus_p99_ms"`
	ReadP99Ms                *float64           `json:"read_p99_ms"`
	WSP99Ms                  *float64           `json:"ws_p99_ms"`
	ColdCommandMs1Event      *float64           `json:"cold_command_ms_1_event"`
	ColdCommandMs20000Events *float64           `json:"cold_command_ms_20000_events"`
	RebuildEventsPerS        *float64           `json:"rebuild_events_per_s"`
	Fanout10000Ms            *float64           `json:"fanout_10000_ms"`
	InitMs                   map[string]float64 `json:"init_ms"`

	Notes   map[string]string `json:"notes,omitempty"`
	Sources map[string]string `json:"sources"`
}

// Machine describes where the figures were measured.
type Machine struct {
	CPUModel string `json:"cpuModel"`
	CPUs     int    `json:"cpus"`
	MemoryMB int64  `json:"memoryMB,omitempty"`
	OS       string `json:"os"`
	Go       string `json:"go"`
}

// summaryInputs are the files make bench wrote before the summary.
type summaryInputs struct {
	load, ceiling string
	bench         []string
	init          string // tools/initbench's init.json; "" leaves init_ms null
}

func writeSummary(out string, in summaryInputs) error {
	s := Summary{
		Machine: machine(), Date: time.Now().UTC().Format(time.RFC3339),
		Notes: map[string]string{}, Sources: map[string]string{},
	}
	var load Result
	if err := readJSON(in.load, &load); err != nil {
		return fmt.Errorf("load run: %w", err)
	}
	p99 := func(stage string) *float64 {
		st, ok := load.Stages[stage]
		if !ok || st.Count == 0 {
			return nil
		}
		return &st.P99
	}
	s.WritesPerS = &load.Throughput
	s.AckP99Ms, s.BusP99Ms, s.ReadP99Ms, s.WSP99Ms = p99("ack"), p99("bus"), p99("readmodel"), p99("websocket")
	s.Sources["writes_per_s"] = in.load
	var ceiling CeilingResult
	if err := readJSON(in.ceiling, &ceiling); err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	s.CeilingReqPerS = &ceiling.ReqPerSec
	s.Sources["ceiling_req_per_s"] = in.ceiling
	metrics := map[string]float64{}
	for _, f := range in.bench {
		if err := readBenchMetrics(f, metrics); err != nil {
			return err
		}
	}
	pick := func(key, bench, unit string) *float64 {
		if v, ok := metrics[bench+" "+unit]; ok {
			s.Sources[key] = bench + " (" + unit + ")"
			return &v
		}
		s.Notes[key] = "not measured: " + bench + " missing from " + strings.Join(in.bench, ", ")
		return nil
	}
	s.ColdCommandMs1Event = pick("cold_command_ms_1_event", "BenchmarkColdCommand/events=1", "cold-ms")
	s.ColdCommandMs20000Events = pick("cold_command_ms_20000_events", "BenchmarkColdCommand/events=20000", "cold-ms")
	s.RebuildEventsPerS = pick("rebuild_events_per_s", "BenchmarkRebuildBolt", "events/s")
	s.Fanout10000Ms = pick("fanout_10000_ms", "BenchmarkFanOut10000", "fanout-ms")
	if in.init == "" {
		s.Notes["init_ms"] = "not measured: no -from-init (tools/initbench)"
	} else {
		var init struct {
			Method string             `json:"method"`
			InitMs map[string]float64 `json:"init_ms"`
		}
		if err := readJSON(in.init, &init); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		s.InitMs = init.InitMs
		s.Sources["init_ms"] = in.init + ": " + init.Method
	}
	if err := writeJSON(out, s); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	fmt.Println(string(b))
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// readBenchMetrics adds every "value unit" pair of the benchmark lines in a go test
// -bench output to metrics, keyed "BenchmarkName unit" (the -GOMAXPROCS suffix cut).
func readBenchMetrics(path string, metrics map[string]float64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		for i := 2; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				metrics[name+" "+fields[i+1]] = v
			}
		}
	}
	return sc.Err()
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryMB = kb / 1024
		}
	}
	return m
}

var errNoInputs = errors.New("-summary needs -from-load, -from-ceiling and -from-bench")

// captureCPUProfile fetches devstack's CPU profile (it runs with -pprof) over d, the
// write phase, into path.
func captureCPUProfile(ctx context.Context, client *http.Client, base string, d time.Duration, path string) error {
	secs := max(1, int(d.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), nil)
	if err != nil {
		return err
	}
	c := *client
	c.Timeout = d + 30*time.Second
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
