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
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
)

// verdict is one side's answer for a pattern/event pair.
type verdict struct {
	Valid bool   // the pattern compiles
	Match bool   // the event matches (false when not valid)
	Err   string // the event was refused, or the side failed on it
}

func (v verdict) String() string {
	switch {
	case !v.Valid:
		return "invalid pattern"
	case v.Err != "":
		return "event error"
	case v.Match:
		return "match"
	default:
		return "no match"
	}
}

// ---- event-ruler, through the Java harness ------------------------------------------

type rulerAnswer struct {
	ID      int      `json:"id"`
	Valid   bool     `json:"valid"`
	Error   string   `json:"error"`
	Results []string `json:"results"`
}

// ruler talks JSONL to one harness process (tools/eventruler).
type ruler struct {
	mu    sync.Mutex
	cmd   *exec.Cmd
	stdin io.WriteCloser
	in    *bufio.Writer
	out   *bufio.Reader
}

func startRuler(java, classpath string) (*ruler, error) {
	cmd := exec.Command(java, "-cp", classpath, "rulerharness.Harness")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("harness stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("harness stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", java, err)
	}
	return &ruler{cmd: cmd, stdin: stdin, in: bufio.NewWriterSize(stdin, 1<<16), out: bufio.NewReaderSize(stdout, 1<<20)}, nil
}

// close ends the harness: it exits at the end of its input.
func (r *ruler) close() error {
	_ = r.stdin.Close()
	return r.cmd.Wait()
}

// ask sends every case and reads the answers; writing runs beside reading so a large
// batch cannot deadlock on full pipes.
func (r *ruler) ask(cases []Case) ([]rulerAnswer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	werr := make(chan error, 1)
	go func() {
		enc := json.NewEncoder(r.in)
		enc.SetEscapeHTML(false)
		for _, c := range cases {
			if err := enc.Encode(c); err != nil {
				werr <- err
				return
			}
		}
		werr <- r.in.Flush()
	}()
	answers := make([]rulerAnswer, 0, len(cases))
	for range cases {
		line, err := r.out.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("read harness answer: %w", err)
		}
		var a rulerAnswer
		if err := json.Unmarshal(line, &a); err != nil {
			return nil, fmt.Errorf("decode harness answer %q: %w", line, err)
		}
		answers = append(answers, a)
	}
	if err := <-werr; err != nil {
		return nil, fmt.Errorf("write to harness: %w", err)
	}
	return answers, nil
}

func (a rulerAnswer) verdicts(events int) []verdict {
	out := make([]verdict, events)
	for i := range out {
		if !a.Valid {
			continue
		}
		out[i].Valid = true
		if i >= len(a.Results) {
			out[i].Err = "no answer"
			continue
		}
		switch res := a.Results[i]; res {
		case "true":
			out[i].Match = true
		case "false":
		default:
			out[i].Err = res
		}
	}
	return out
}

// ---- devstack, through TestEventPattern ---------------------------------------------

// devstack is an in-process EventBridge API (tools/local/bus/eventsapi, AWS's validation)
// called with the real SDK client, as a user of `make dev` would call it.
type devstack struct {
	client *eventbridge.Client
	srv    *http.Server
	bus    *bus.Bus
}

func startDevstack() (*devstack, error) {
	b, err := bus.New(bus.Options{Name: "rulerdiff", Account: "123456789012", Region: "us-east-1"})
	if err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = b.Close(context.Background())
		return nil, fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	h := eventsapi.NewHandler(b)
	mux.Handle("/_aws/events", h)
	mux.Handle("/_aws/events/", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	base := "http://" + ln.Addr().String() + "/_aws/events"
	client := eventbridge.New(eventbridge.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(base),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	})
	return &devstack{client: client, srv: srv, bus: b}, nil
}

func (d *devstack) close() {
	_ = d.srv.Close()
	_ = d.bus.Close(context.Background())
}

func (d *devstack) test(ctx context.Context, pattern, event string) (verdict, error) {
	out, err := d.client.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{
		EventPattern: aws.String(pattern), Event: aws.String(event),
	})
	if err != nil {
		var invalid *types.InvalidEventPatternException
		if errors.As(err, &invalid) {
			return verdict{}, nil
		}
		var api interface{ ErrorCode() string }
		if errors.As(err, &api) && strings.Contains(api.ErrorCode(), "Validation") {
			return verdict{Valid: true, Err: err.Error()}, nil
		}
		return verdict{}, fmt.Errorf("TestEventPattern: %w", err)
	}
	return verdict{Valid: true, Match: out.Result}, nil
}

// testAll answers every pair of cases with workers calls in flight.
func (d *devstack) testAll(ctx context.Context, cases []Case, workers int) ([][]verdict, error) {
	out := make([][]verdict, len(cases))
	for i, c := range cases {
		out[i] = make([]verdict, len(c.Events))
	}
	type job struct{ ci, ei int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				v, err := d.test(ctx, cases[j.ci].Pattern, cases[j.ci].Events[j.ei])
				if err != nil {
					once.Do(func() { firstErr = err })
					continue
				}
				out[j.ci][j.ei] = v
			}
		}()
	}
	for ci, c := range cases {
		for ei := range c.Events {
			jobs <- job{ci, ei}
		}
	}
	close(jobs)
	wg.Wait()
	return out, firstErr
}
