package notifications_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// envDialer makes TestFanOutDialer the client side of BenchmarkFanOut10000.
const envDialer = "FANOUT_DIALER_URL"

// BenchmarkFanOut10000 is one ConcertViewUpdated fanned out to 10,000 subscribed real
// WebSocket connections (bbolt store) as deployed: the fan-out splits them into 20
// batches of 500 on the fan-out queue (devstack's emulator), and 20 invocations of
// fan-out-batch post them at once, each with concurrency 16. 10,000 sockets need 20,000 descriptors at both ends, more than
// one process may open here, so the clients live in a child process (this test binary
// running TestFanOutDialer): it dials and subscribes them all, then counts the pushes.
// fanout-ms runs from the fan-out handler's start until every client has received
// the change; handler-ms until the handler returned (every batch queued).
func BenchmarkFanOut10000(b *testing.B) {
	const n = 10000
	// The fan-out as deployed: it splits the subscribers into batches of 500 on the
	// fan-out queue, and 20 invocations of fan-out-batch post them at once.
	q, _ := newFanOutQueue(b, time.Minute, 8)
	h := newHarness(b, stores[0].open(b), harnessOptions{concurrency: 16, maxConnections: n, batches: q})
	startBatchWorker(b, h, q, n/500)
	fan := h.fanOut()
	for i := range b.N {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFanOutDialer$", "-test.count=1")
		cmd.Env = append(os.Environ(), envDialer+"=ws"+strings.TrimPrefix(h.srv.URL, "http")+"/ws", "FANOUT_DIALER_N="+strconv.Itoa(n))
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		waitFor := func(word string) {
			for lines.Scan() {
				if strings.TrimSpace(lines.Text()) == word {
					return
				}
				b.Log(lines.Text())
			}
			b.Fatalf("dialer ended before %q", word)
		}
		b.StopTimer()
		waitFor("ready")
		for len(h.gw.ConnectionIDs()) < n {
			time.Sleep(10 * time.Millisecond)
		}
		b.StartTimer()
		start := time.Now()
		if err := fan(context.Background(), viewEvent("c1", int64(i+1), "Owls")); err != nil {
			b.Fatal(err)
		}
		handler := time.Since(start)
		waitFor("done")
		all := time.Since(start)
		b.StopTimer()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.ReportMetric(float64(handler.Microseconds())/1000, "handler-ms")
		b.ReportMetric(float64(all.Microseconds())/1000, "fanout-ms")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		for len(h.gw.ConnectionIDs()) > 0 && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		b.StartTimer()
	}
}

// TestFanOutDialer is BenchmarkFanOut10000's client process; it skips unless run by it.
func TestFanOutDialer(t *testing.T) {
	url := os.Getenv(envDialer)
	if url == "" {
		t.Skip("client side of BenchmarkFanOut10000")
	}
	n, _ := strconv.Atoi(os.Getenv("FANOUT_DIALER_N"))
	var received atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	jobs := make(chan int)
	var failed atomic.Value
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				ws, _, err := websocket.Dial(ctx, url, nil)
				if err == nil {
					err = ws.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","concertId":"c1"}`))
				}
				if err == nil {
					_, _, err = ws.Read(ctx) // the "subscribed" reply
				}
				cancel()
				if err != nil {
					failed.Store(err)
					continue
				}
				go func() {
					for {
						if _, _, err := ws.Read(context.Background()); err != nil {
							return
						}
						if received.Add(1) == int64(n) {
							close(done)
						}
					}
				}()
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		t.Fatal(err)
	}
	fmt.Println("ready")
	<-done
	fmt.Println("done")
	select {} // the benchmark kills this process
}
