package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCrashKeepsAcknowledgedWrites stops devstack with SIGKILL (a crash) or SIGTERM
// (a graceful shutdown) while many writers are in flight, restarts it on the same
// data directory, and checks that every write that got a 2xx is in the log and
// reaches the read model through pipe, bus and projector.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { testStopUnderLoad(t, sig) })
	}
}

func testStopUnderLoad(t *testing.T, sig syscall.Signal) {
	data := t.TempDir()
	addr := freeAddr(t)
	p := startDevstack(t, addr, "-data", data, "-auth=off")

	const concerts, writers = 6, 24
	ids := make([]string, concerts)
	for i := range ids {
		res := do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(
			`{"artist":"Crash Test %d","venue":"Lab","startsAt":%q,"capacity":1000000,"priceCents":100}`, i, future(48*time.Hour)))
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		var w written
		res.json(t, &w)
		ids[i] = w.ID
	}

	var (
		mu       sync.Mutex
		acked    = map[string]map[int64]bool{} // concert -> versions acknowledged
		failures atomic.Int64
		wg       sync.WaitGroup
	)
	ctx, stopWriters := context.WithCancel(context.Background())
	defer stopWriters()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for ctx.Err() == nil {
				id := ids[rng.IntN(len(ids))]
				res, err := tryDo(ctx, http.MethodPost, p.url+"/concerts/"+id+"/tickets", `{"quantity":1}`)
				if err != nil || res.status/100 != 2 {
					failures.Add(1)
					time.Sleep(5 * time.Millisecond) // the server is gone; don't spin
					continue
				}
				var out written
				if json.Unmarshal(res.body, &out) != nil {
					failures.Add(1)
					continue
				}
				mu.Lock()
				if acked[id] == nil {
					acked[id] = map[int64]bool{}
				}
				acked[id][out.Version] = true
				mu.Unlock()
			}
		}()
	}
	// Let writes pile up, then pull the plug mid-flight.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := 0
		for _, vs := range acked {
			n += len(vs)
		}
		mu.Unlock()
		if n >= 600 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, p.cmd.Process.Signal(sig))
	<-p.done
	if sig == syscall.SIGTERM {
		require.NoError(t, p.err, "graceful shutdown must exit 0:\n%s", p.logs.String())
	}
	time.Sleep(100 * time.Millisecond) // writers see the dead server
	stopWriters()
	wg.Wait()

	total := 0
	for _, vs := range acked {
		total += len(vs)
	}
	t.Logf("acknowledged writes before %s: %d (failed or cut off: %d)", sig, total, failures.Load())
	require.Positive(t, total)

	p = startDevstack(t, addr, "-data", data, "-auth=off")
	for _, id := range ids {
		logged := history(t, p.url, id, 100)
		inLog := map[int64]string{}
		sold := 0
		for i, e := range logged {
			require.Equal(t, int64(i+1), e.Version, "log of %s has a gap", id)
			inLog[e.Version] = e.Type
			if e.Type == "TicketsSold" {
				sold++
			}
		}
		for v := range acked[id] {
			require.Equal(t, "TicketsSold", inLog[v], "concert %s: acknowledged version %d missing from the log after the crash", id, v)
		}
		// Every logged event reaches the projector over the bus after the restart: the
		// read model ends at the log's last version with every sale counted.
		last := int64(len(logged))
		eventually(t, "read model of "+id+" catches up with the log", func() error {
			res := do(t, http.MethodGet, p.url+"/concerts/"+id, "")
			var v view
			if res.status != http.StatusOK {
				return fmt.Errorf("GET: %d %s", res.status, res.body)
			}
			res.json(t, &v)
			if v.Version != last || v.TicketsSold != sold {
				return fmt.Errorf("got version %d with %d sold, want version %d with %d sold", v.Version, v.TicketsSold, last, sold)
			}
			return nil
		})
	}
	require.NoError(t, p.stop(syscall.SIGTERM))
}
