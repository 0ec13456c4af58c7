package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/concertsys/tools/internal/devstackproc"
	"github.com/concertsys/tools/local/localiam"
	"github.com/stretchr/testify/require"
)

// devstackBin is the binary built once by TestMain.
var devstackBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "devstack-bin-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	devstackBin = filepath.Join(dir, "devstack")
	build := exec.Command("go", "build", "-o", devstackBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build devstack:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a devstack process under test.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	addr string
	logs *syncBuffer
	done chan struct{}
	err  error
	data string // the -data directory, where the /_aws keys are
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := devstackproc.FreeAddr()
	require.NoError(t, err)
	return addr
}

// startDevstack starts the binary on addr with args and waits for /healthz.
func startDevstack(t *testing.T, addr string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, addr: addr, url: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	for i, a := range args {
		if a == "-data" && i+1 < len(args) {
			p.data = args[i+1]
		}
	}
	// Visibility timeouts of 1.8 s instead of 3 min: a consumer failure (a fan-out
	// batch behind an earlier version) comes back within the tests' waits.
	p.cmd = exec.Command(devstackBin, append([]string{"-addr", addr, "-log-level", "warn", "-time-scale", "0.01"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("devstack output:\n%s", p.logs.String())
		}
	})
	started := time.Now()
	for {
		if devstackproc.ServedBy(p.url, p.cmd.Process.Pid) {
			t.Logf("devstack healthy after %s", time.Since(started).Round(time.Millisecond))
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("devstack exited during startup: %v\n%s", p.err, p.logs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(started) > 20*time.Second {
			t.Fatalf("devstack not healthy after 20s:\n%s", p.logs.String())
		}
	}
}

// stop sends sig and waits for the exit.
func (p *proc) stop(sig syscall.Signal) error {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		p.t.Fatalf("devstack did not exit within 30s of %s", sig)
		return nil
	}
}

// response is an HTTP answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body %s", r.body)
}

var client = &http.Client{Timeout: 30 * time.Second}

// do sends a request with an optional JSON body and headers "K: V".
func do(t *testing.T, method, u, body string, headers ...string) response {
	t.Helper()
	res, err := tryDo(context.Background(), method, u, body, headers...)
	require.NoError(t, err)
	return res
}

func tryDo(ctx context.Context, method, u, body string, headers ...string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// tail follows the bus through devstack's tail endpoint.
type tail struct {
	mu     sync.Mutex
	events []events.EventBridgeEvent
	raw    [][]byte
	wake   chan struct{}
	cancel context.CancelFunc
}

// signAs signs req (without a body) with principal's /_aws keys from p's data
// directory, as devstack requires of every /_aws caller.
func (p *proc) signAs(t *testing.T, req *http.Request, principal string) {
	t.Helper()
	require.NotEmpty(t, p.data, "devstack started without -data: no keys to sign with")
	store, err := localiam.Load(filepath.Join(p.data, localiam.CredentialsFile))
	require.NoError(t, err)
	c, err := store.Credentials(principal)
	require.NoError(t, err)
	const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	require.NoError(t, v4.NewSigner().SignHTTP(req.Context(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey},
		req, emptyHash, "events", "us-east-1", time.Now()))
}

func startTail(t *testing.T, p *proc, pattern string) *tail {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := p.url + "/_aws/events/tail"
	if pattern != "" {
		u += "?pattern=" + url.QueryEscape(pattern)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	require.NoError(t, err)
	p.signAs(t, req, localiam.Developer)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	tl := &tail{wake: make(chan struct{}, 1), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64*1024), 4<<20)
		for sc.Scan() {
			var ev events.EventBridgeEvent
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			tl.mu.Lock()
			tl.events = append(tl.events, ev)
			tl.raw = append(tl.raw, bytes.Clone(sc.Bytes()))
			tl.mu.Unlock()
			select {
			case tl.wake <- struct{}{}:
			default:
			}
		}
	}()
	return tl
}

// waitUntil waits until cond holds over the events seen so far.
func (tl *tail) waitUntil(t *testing.T, what string, cond func([]events.EventBridgeEvent) bool) []events.EventBridgeEvent {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		tl.mu.Lock()
		evs := append([]events.EventBridgeEvent(nil), tl.events...)
		tl.mu.Unlock()
		if cond(evs) {
			return evs
		}
		select {
		case <-tl.wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("bus tail: %s not seen within 15s; got %d events", what, len(evs))
		}
	}
}

// eventually retries f until it returns nil or 15s pass.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after 15s: %v", what, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
