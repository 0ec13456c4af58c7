// Command initbench measures each Lambda function's init duration under the AWS Lambda
// Runtime Interface Emulator (aws-lambda-rie): it builds every services/*/cmd/* for the
// host (GOOS=linux, the host's GOARCH, CGO off, -tags lambda.norpc, stripped), runs it
// under the RIE with the environment its wiring needs (AWS clients pointed at a local
// moto server, dummy credentials, us-east-1), invokes it once and reads "Init Duration"
// from the RIE's REPORT line. list-concerts reads its cursor key from Secrets Manager at
// init, so moto holds that secret and its init includes that one call.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Result is bench-results/init.json.
type Result struct {
	Date   string             `json:"date"`
	Method string             `json:"method"`
	InitMs map[string]float64 `json:"init_ms"`
	// RIEInitDuration is the REPORT line's own "Init Duration": the RIE starts the
	// runtime lazily and reports about 0.02 ms, so init_ms does not use it.
	RIEInitDuration map[string]float64 `json:"rie_init_duration_ms"`
	Reports         map[string]string  `json:"reports"`
}

func main() {
	root := flag.String("root", ".", "repository root")
	rie := flag.String("rie", ".tools/bin/aws-lambda-rie", "aws-lambda-rie binary")
	moto := flag.String("moto", ".tools/venv/bin/moto_server", "moto_server binary")
	out := flag.String("out", "bench-results/init.json", "output file")
	flag.Parse()
	if err := run(*root, *rie, *moto, *out); err != nil {
		fmt.Fprintln(os.Stderr, "initbench:", err)
		os.Exit(1)
	}
}

func run(root, rie, moto, out string) error {
	ctx := context.Background()
	bin, err := os.MkdirTemp("", "initbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	mains, err := filepath.Glob(filepath.Join(root, "services", "*", "cmd", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		return fmt.Errorf("no services/*/cmd/*/main.go under %s", root)
	}
	svcs := map[string]bool{}
	for _, m := range mains {
		svcs[filepath.Dir(filepath.Dir(filepath.Dir(m)))] = true
	}
	for svc := range svcs {
		dir := filepath.Join(bin, filepath.Base(svc))
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", dir+string(filepath.Separator), "./cmd/...")
		cmd.Dir = svc
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", svc, err)
		}
	}
	endpoint, stop, err := startMoto(moto)
	if err != nil {
		return err
	}
	defer stop()
	arn, err := createSecret(ctx, endpoint, "cursor-key", strings.Repeat("k", 64))
	if err != nil {
		return err
	}
	env := append(os.Environ(),
		"AWS_ENDPOINT_URL="+endpoint, "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"EVENT_LOG_TABLE=x", "IDEMPOTENCY_TABLE=x", "SNAPSHOT_TABLE=x", "VIEWS_TABLE=x", "EVENT_BUS_NAME=x",
		"CURSOR_KEY_SECRET_ARN="+arn, "CONNECTIONS_TABLE=x", "WS_MANAGEMENT_ENDPOINT="+endpoint, "DYNAMODB_ENDPOINT="+endpoint,
		// Services made with tools/newservice: <NAME>_TABLE, and their catch-up job's ARNs.
		"ARCHIVE_ARN=arn:aws:events:us-east-1:000000000000:archive/x", "EVENT_BUS_ARN=arn:aws:events:us-east-1:000000000000:event-bus/x",
		"RULE_ARN=arn:aws:events:us-east-1:000000000000:rule/x/x")
	generated, err := filepath.Glob(filepath.Join(root, "services", "*", "newservice.json"))
	if err != nil {
		return err
	}
	for _, g := range generated {
		env = append(env, strings.ToUpper(filepath.Base(filepath.Dir(g)))+"_TABLE=x")
	}
	res := Result{Date: time.Now().UTC().Format(time.RFC3339), InitMs: map[string]float64{}, Reports: map[string]string{},
		RIEInitDuration: map[string]float64{},
		Method: "aws-lambda-rie, " + runtime.GOOS + "/" + runtime.GOARCH + " build: Duration of the first (cold) invoke minus Duration of the second (warm) invoke, " +
			"from the RIE's REPORT lines; the RIE's own Init Duration (rie_init_duration_ms) is about 0.02 ms because it starts the runtime inside the first invoke"}
	var names []string
	for _, m := range mains {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		fn := filepath.Base(filepath.Dir(m))
		svc := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(m))))
		reports, err := measure(rie, filepath.Join(bin, svc, fn), env)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", svc, fn, err)
		}
		ms, err := InitMs(reports[0], reports[1])
		if err != nil {
			return fmt.Errorf("%s/%s: %w", svc, fn, err)
		}
		res.InitMs[fn] = ms
		res.RIEInitDuration[fn], _ = ParseInitDuration(reports[0])
		res.Reports[fn] = reports[0] + "\n" + reports[1]
		fmt.Printf("%-22s init %.2f ms (first invoke %s)\n", fn, ms, reports[0])
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

var (
	initDuration   = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)
	invokeDuration = regexp.MustCompile(`\tDuration: ([0-9.]+) ms`)
)

// InitMs is the cold invoke's Duration minus the warm invoke's, from two REPORT lines.
func InitMs(cold, warm string) (float64, error) {
	c, ok1 := parseDuration(cold)
	w, ok2 := parseDuration(warm)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("no Duration in %q / %q", cold, warm)
	}
	return max(0, c-w), nil
}

func parseDuration(s string) (float64, bool) {
	m := invokeDuration.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// ParseInitDuration finds "Init Duration: X ms" in a REPORT line.
func ParseInitDuration(s string) (float64, bool) {
	m := initDuration.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// ReportLines are the lines of log holding "REPORT RequestId", in order.
func ReportLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, "REPORT RequestId"); i >= 0 {
			out = append(out, strings.TrimSpace(l[i:]))
		}
	}
	return out
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// measure runs bootstrap under the RIE, invokes it twice and returns both REPORT lines.
func measure(rie, bootstrap string, env []string) ([]string, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	var log safeBuffer
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, bootstrap)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() }()
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	deadline := time.Now().Add(30 * time.Second)
	for want := 1; want <= 2; want++ {
		for {
			resp, err := http.Post(url, "application/json", strings.NewReader(`{}`))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("RIE not answering: %w\n%s", err, log.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		for len(ReportLines(log.String())) < want {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("no REPORT line:\n%s", log.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return ReportLines(log.String())[:2], nil
}

var motoListening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

func startMoto(bin string) (string, func(), error) {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() }
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := motoListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case ep := <-found:
		return ep, stop, nil
	case <-time.After(60 * time.Second):
		stop()
		return "", nil, fmt.Errorf("moto not listening after 60 s")
	}
}

// createSecret creates a secret in moto over its JSON protocol (moto checks no signature).
func createSecret(ctx context.Context, endpoint, name, value string) (string, error) {
	body, _ := json.Marshal(map[string]string{"Name": name, "SecretString": value})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.CreateSecret")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ ARN string }
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || out.ARN == "" {
		return "", fmt.Errorf("create secret: %s %s", resp.Status, b)
	}
	return out.ARN, nil
}

// safeBuffer is the RIE's log, written by exec's copier and read while it runs.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
