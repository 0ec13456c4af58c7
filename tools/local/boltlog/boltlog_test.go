package boltlog_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/testkit/eventlogtest"
	"github.com/concertsys/tools/local/boltlog"
)

func open(t testing.TB, path string) *boltlog.Log {
	t.Helper()
	l, err := boltlog.Open(path)
	require.NoError(t, err)
	return l
}

func TestConformance(t *testing.T) {
	eventlogtest.Run(t, eventlogtest.Options{}, func(t *testing.T) eventlog.Log {
		l := open(t, filepath.Join(t.TempDir(), "events.db"))
		t.Cleanup(func() { require.NoError(t, l.Close()) })
		return l
	})
}

func TestFeed(t *testing.T) {
	eventlogtest.RunFeed(t, func(t *testing.T, path string) eventlogtest.Durable {
		return open(t, path)
	})
}

func TestSecondOpenOfSameFileFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	l := open(t, path)
	defer l.Close()
	// bbolt's file lock is per process via flock; a second handle in the same
	// process must not silently share the file either.
	_, err := boltlog.Open(path)
	require.Error(t, err, "got a second open handle on a locked file")
}

func TestClosedLogRefusesAppends(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "events.db"))
	require.NoError(t, l.Close())
	err := l.Append(context.Background(), eventlogtest.NewEvents("closed", 1, 1))
	require.ErrorIs(t, err, boltlog.ErrClosed, "got %v, want ErrClosed", err)
}

// TestAcknowledgedAppendsSurviveKill runs a child process that appends and prints
// every acknowledged version, kills it with SIGKILL mid-stream, and checks that every
// acknowledged event is in the file.
func TestAcknowledgedAppendsSurviveKill(t *testing.T) {
	if path := os.Getenv("BOLTLOG_CRASH_CHILD"); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "events.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcknowledgedAppendsSurviveKill$")
	cmd.Env = append(os.Environ(), "BOLTLOG_CRASH_CHILD="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	acked := map[string]int64{}
	sc := bufio.NewScanner(out)
	lines := 0
	for sc.Scan() && lines < 200 {
		id, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err)
		acked[id] = n
		lines++
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Equal(t, 200, lines, "child acknowledged %d appends before dying, want 200", lines)

	l := open(t, path)
	defer l.Close()
	for id, v := range acked {
		got, err := l.Load(context.Background(), id)
		require.NoError(t, err)
		require.GreaterOrEqual(t, int64(len(got)), v, "%s: got %d events after the kill, acknowledged %d", id, len(got), v)
	}
}

// crashChild appends forever from four goroutines, printing "id version" after
// every acknowledged append, until it is killed.
func crashChild(path string) {
	l, err := boltlog.Open(path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	out := make(chan string, 64)
	for w := 0; w < 4; w++ {
		go func() {
			id := fmt.Sprintf("crash-%d", w)
			for v := int64(1); ; v++ {
				if err := l.Append(context.Background(), eventlogtest.NewEvents(id, v, 1)); err != nil {
					out <- "error " + err.Error()
					return
				}
				out <- fmt.Sprintf("%s %d", id, v)
			}
		}()
	}
	for line := range out {
		fmt.Println(line)
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		l := open(b, filepath.Join(b.TempDir(), "events.db"))
		defer l.Close()
		id := "bench-seq"
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := l.Append(ctx, eventlogtest.NewEvents(id, int64(i+1), 1)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	})
	b.Run("parallel", func(b *testing.B) {
		l := open(b, filepath.Join(b.TempDir(), "events.db"))
		defer l.Close()
		var worker atomic.Int64
		b.SetParallelism(8) // 8 writers per CPU: the group commit shares fsyncs among them
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			id := fmt.Sprintf("bench-par-%d", worker.Add(1))
			for v := int64(1); pb.Next(); v++ {
				if err := l.Append(ctx, eventlogtest.NewEvents(id, v, 1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	})
}
