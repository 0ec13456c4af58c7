package bus

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"
)

var failing = func(context.Context, events.EventBridgeEvent) error { return errors.New("down") }

func TestDurableAcrossCloseAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := sub("orders", `{"source":["s"]}`)
	s.MaxAttempts = 1000

	first, err := New(fastOptions(dir))
	require.NoError(t, err)
	require.NoError(t, first.Subscribe(s, failing))
	doomed := sub("doomed", `{"detail-type":["poison"]}`)
	doomed.MaxAttempts = 1
	require.NoError(t, first.Subscribe(doomed, failing))
	var ids []string
	for i := range 5 {
		ids = append(ids, putOK(t, first, entry("s", "d", fmt.Sprintf(`{"i":%d}`, i)))...)
	}
	poison := putOK(t, first, entry("x", "poison", `{}`))[0]
	waitFor(t, "dead letter", func() bool {
		dls, _ := first.DeadLetters(context.Background())
		return len(dls) == 1
	})
	require.NoError(t, first.Close(context.Background()))

	second, err := New(fastOptions(dir))
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Close(context.Background()) })
	t.Run("dead letters survive", func(t *testing.T) {
		dls, err := second.DeadLetters(context.Background())
		require.NoError(t, err)
		require.Len(t, dls, 1)
		require.Equal(t, poison, dls[0].Event.ID)
		require.Equal(t, "doomed", dls[0].Rule)
		require.Equal(t, "down", dls[0].LastError)
	})
	t.Run("pending deliveries resume on subscribe", func(t *testing.T) {
		rec := newRecorder()
		require.NoError(t, second.Subscribe(s, rec.target))
		waitFor(t, "resumed deliveries", func() bool { return rec.has(ids...) })
		require.Equal(t, 5, rec.distinct())
	})
	t.Run("redrive after restart", func(t *testing.T) {
		rec := newRecorder()
		require.NoError(t, second.Subscribe(doomed, rec.target))
		n, err := second.Redrive(context.Background())
		require.NoError(t, err)
		require.Equal(t, 1, n)
		waitFor(t, "redriven", func() bool { return rec.has(poison) })
	})
}

func TestDurableAcrossAbandonedBus(t *testing.T) {
	dir := t.TempDir()
	s := sub("projector", `{"source":["s"]}`)
	first, err := New(fastOptions(dir))
	require.NoError(t, err)
	release := make(chan struct{})
	defer close(release)
	// The target never finishes while the first bus lives: every delivery is in
	// flight or queued when it "crashes".
	require.NoError(t, first.Subscribe(s, func(ctx context.Context, _ events.EventBridgeEvent) error {
		<-release
		return nil
	}))
	var ids []string
	for i := range 20 {
		ids = append(ids, putOK(t, first, entry("s", "d", fmt.Sprintf(`{"i":%d}`, i)))...)
	}
	first.abandon()

	second, err := New(fastOptions(dir))
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Close(context.Background()) })
	rec := newRecorder()
	require.NoError(t, second.Subscribe(s, rec.target))
	waitFor(t, "every event delivered after the crash", func() bool { return rec.has(ids...) })
}

const crashHelperEnv = "BUS_CRASH_HELPER_DIR"

// TestMain runs the crash helper instead of the tests when the parent asks for it.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashHelperEnv); dir != "" {
		crashHelper(dir)
	}
	os.Exit(m.Run())
}

// crashHelper is the child of TestDurableAcrossKill: it puts events on a durable bus
// whose target never succeeds, reports their ids and waits to be killed.
func crashHelper(dir string) {
	b, err := New(fastOptions(dir))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	s := sub("projector", `{"source":["s"]}`)
	s.MaxAttempts = 1 << 20
	if err := b.Subscribe(s, failing); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	for i := range 30 {
		res, err := b.Put(context.Background(), []Entry{entry("s", "d", fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("ID", res[0].EventID) // printed only once Put returned, i.e. durable
	}
	fmt.Println("READY")
	time.Sleep(time.Minute) // killed long before
	os.Exit(2)
}

func TestDurableAcrossKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var ids []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "ID "); ok {
			ids = append(ids, id)
		}
		if line == "READY" {
			break
		}
		require.Falsef(t, strings.HasPrefix(line, "ERR"), "helper: %s", line)
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no Close, no deferred cleanup
	_ = cmd.Wait()
	require.Len(t, ids, 30)

	b, err := New(fastOptions(dir))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	rec := newRecorder()
	require.NoError(t, b.Subscribe(sub("projector", `{"source":["s"]}`), rec.target))
	waitFor(t, "every acknowledged event delivered after SIGKILL", func() bool { return rec.has(ids...) })
}

func TestDataDirLockedByAnotherBus(t *testing.T) {
	old := boltOpenTimeout
	boltOpenTimeout = 50 * time.Millisecond
	t.Cleanup(func() { boltOpenTimeout = old })
	dir := t.TempDir()
	newBus(t, fastOptions(dir))
	_, err := New(fastOptions(dir))
	require.Error(t, err, "a second bus on the same DataDir must fail, not corrupt it")
}
