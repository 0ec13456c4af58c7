// Package dynamotest starts real DynamoDB-API implementations for tests: minidyn's
// HTTP server in-process (always available) and moto's server from PyPI (installed
// into <repo>/.tools/venv on first use). Adapters' conformance suites run against
// every backend with the real AWS SDK client talking HTTP, never a hand-written fake.
package dynamotest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	minidyn "github.com/truora/minidyn/server"
)

// MotoVersion is the moto release installed when no moto_server is found.
const MotoVersion = "5.2.5"

// Backend is one running DynamoDB-API implementation.
type Backend struct {
	Name     string
	Endpoint string
	Client   *dynamodb.Client
	// AtomicConditions tells whether a conditional write's check and write are atomic
	// under concurrent requests, as on DynamoDB. moto's threaded server checks and
	// writes without a lock, so two racing attribute_not_exists puts can both succeed
	// there: suites leave their concurrency cases out for it (minidyn runs them).
	AtomicConditions bool
}

// Backends starts every implementation and returns a client for each. Moto is
// required when CI is set; elsewhere a missing Python only skips moto, loudly.
func Backends(t testing.TB) []Backend {
	t.Helper()
	out := []Backend{Minidyn(t)}
	moto, err := startMoto(t)
	switch {
	case err == nil:
		out = append(out, moto)
	case os.Getenv("CI") != "":
		t.Fatalf("moto server could not be started (required in CI): %v", err)
	default:
		t.Logf("WARNING: moto server unavailable, DynamoDB tests run against minidyn only: %v", err)
	}
	return out
}

// Run runs test once per backend of Backends, each as a subtest named after it.
func Run(t *testing.T, test func(t *testing.T, b Backend)) {
	t.Helper()
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) { test(t, b) })
	}
}

// Minidyn starts minidyn's DynamoDB HTTP server in-process for the test.
func Minidyn(t testing.TB) Backend {
	t.Helper()
	b, stop := StartMinidyn()
	t.Cleanup(stop)
	return b
}

// StartMinidyn starts minidyn's DynamoDB HTTP server in-process; stop closes it.
func StartMinidyn() (b Backend, stop func()) {
	srv := httptest.NewServer(minidyn.NewServer())
	return Backend{Name: "minidyn", Endpoint: srv.URL, Client: NewClient(srv.URL), AtomicConditions: true}, srv.Close
}

var tables atomic.Int64

// NewTable creates a table named prefix-N, N unique in the process, on b with create
// (an adapter's CreateTable), so every test case starts from an empty table of its own
// on the one server.
func (b Backend) NewTable(t testing.TB, prefix string, create func(ctx context.Context, client *dynamodb.Client, table string) error) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, tables.Add(1))
	if err := b.createEmpty(t.Context(), name, create); err != nil {
		t.Fatalf("create table %s on %s: %v", name, b.Name, err)
	}
	return name
}

// createEmpty runs create for a name unique to this process on a server of its own, so
// the table can only exist already because the SDK retried a CreateTable whose first
// answer was lost (a loaded server dropping the connection): that is fine as long as
// the table is empty.
func (b Backend) createEmpty(ctx context.Context, name string, create func(ctx context.Context, client *dynamodb.Client, table string) error) error {
	err := create(ctx, b.Client, name)
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		return err
	}
	out, err := b.Client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(name), Limit: aws.Int32(1)})
	if err != nil {
		return fmt.Errorf("table exists already and cannot be read: %w", err)
	}
	if len(out.Items) > 0 {
		return errors.New("table exists already and is not empty")
	}
	return nil
}

// NewClient is a DynamoDB client for a local endpoint with dummy credentials.
func NewClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	})
}

func startMoto(t testing.TB) (Backend, error) {
	endpoint, err := StartMoto(t)
	if err != nil {
		return Backend{}, err
	}
	client := NewClient(endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		return Backend{}, fmt.Errorf("moto server on %s: %w", endpoint, err)
	}
	return Backend{Name: "moto", Endpoint: endpoint, Client: client}, nil
}

// StartMoto starts a moto server for the test (installing moto on first use, as
// Backends does) and returns its endpoint. moto serves every AWS API it implements on
// that one endpoint, so tests of other AWS adapters (SQS) use it too; it is stopped
// when the test ends.
func StartMoto(t testing.TB) (string, error) {
	bin, err := motoServer()
	if err != nil {
		return "", err
	}
	// Port 0 lets moto bind a free port itself and report it: picking a free port here
	// and handing it over races with every other test process doing the same, and a
	// test that lost the race would silently share another process's server.
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	endpoint, err := motoEndpoint(out, 60*time.Second)
	if err != nil {
		return "", fmt.Errorf("%s: %w", bin, err)
	}
	return endpoint, nil
}

var motoListening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// motoEndpoint reads moto's log until it says where it listens, then keeps draining the
// log in the background so the server never blocks on a full pipe.
func motoEndpoint(log io.Reader, timeout time.Duration) (string, error) {
	found := make(chan string, 1)
	var tail []string // the last lines, for a useful error
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(log)
		for sc.Scan() {
			if m := motoListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
			mu.Lock()
			tail = append(tail[max(0, len(tail)-19):], sc.Text())
			mu.Unlock()
		}
		close(found)
	}()
	select {
	case endpoint, ok := <-found:
		if ok {
			return endpoint, nil
		}
		mu.Lock()
		defer mu.Unlock()
		return "", fmt.Errorf("exited before listening:\n%s", strings.Join(tail, "\n"))
	case <-time.After(timeout):
		mu.Lock()
		defer mu.Unlock()
		return "", fmt.Errorf("not listening after %s:\n%s", timeout, strings.Join(tail, "\n"))
	}
}

var installMu sync.Mutex

// motoServer finds moto_server: $MOTO_SERVER, then <repo>/.tools/venv, then PATH; it
// installs moto into <repo>/.tools/venv when none is found, so a fresh machine needs
// nothing but Python.
func motoServer() (string, error) {
	if p := os.Getenv("MOTO_SERVER"); p != "" {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	venv := filepath.Join(root, ".tools", "venv")
	bin := filepath.Join(venv, "bin", "moto_server")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	installMu.Lock()
	defer installMu.Unlock()
	// Several test binaries may race here: serialise with a lock file across processes.
	if err := os.MkdirAll(filepath.Dir(venv), 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(root, ".tools", "venv.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		return "", errors.New("python3 not found: cannot install moto")
	}
	steps := [][]string{
		{python, "-m", "venv", venv},
		{filepath.Join(venv, "bin", "pip"), "install", "-q", "moto[server]==" + MotoVersion},
	}
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("%v: %w: %s", s, err, out)
		}
	}
	return bin, nil
}

// repoRoot is the nearest ancestor holding go.work, else the module root.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	var modRoot string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			modRoot = d
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if modRoot == "" {
		return "", errors.New("no go.work or go.mod above " + dir)
	}
	return modRoot, nil
}
