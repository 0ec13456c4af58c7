package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/faults"
)

// Convergence under faults (issue 11): devstack with every kind of fault injected,
// a few thousand writes over many concerts with WebSocket clients subscribed, then
// every dead letter redriven until none is left. Then every view is what a rebuild
// from the log makes of it, byte for byte; no view was ever seen going backwards;
// every client's last notification of each concert carries the view's final version
// and no client saw a version go backwards.
//
// make converge runs it with other seeds and sizes: CONVERGE_SEEDS=4,5
// CONVERGE_WRITES=5000 CONVERGE_CONCERTS=80.
func TestConvergenceUnderFaults(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if s := os.Getenv("CONVERGE_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			require.NoError(t, err, "CONVERGE_SEEDS")
			seeds = append(seeds, n)
		}
	}
	cfg := convergeConfig{writes: envInt(t, "CONVERGE_WRITES", 2000), concerts: envInt(t, "CONVERGE_CONCERTS", 50), writers: 16}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			cfg := cfg
			cfg.spec = faults.Spec{Invoke: 0.2, After: 0.2, Put: 0.2, Dup: 0.2, Delay: 50 * time.Millisecond, Seed: seed}
			r := converge(t, cfg)
			t.Logf("converged: -faults %s: %d writes (%d refused) over %d concerts, %d WebSocket clients, %d notifications; injected %v; "+
				"%d dead letters redriven (bus %d, pipe %d) in %d rounds; writes took %s, converged %s after the last write",
				cfg.spec, r.writes, r.refused, cfg.concerts, r.clients, r.notifications, r.injected,
				r.busRedriven+r.pipeRedriven, r.busRedriven, r.pipeRedriven, r.rounds,
				r.writing.Round(time.Millisecond), r.settling.Round(time.Millisecond))
		})
	}
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	require.NoError(t, err, name)
	return n
}

type convergeConfig struct {
	spec                      faults.Spec
	writes, concerts, writers int
}

type convergeReport struct {
	writes, refused, clients, notifications int
	injected                                map[faults.Kind]uint64
	busRedriven, pipeRedriven, rounds       int
	writing, settling                       time.Duration
}

func converge(t *testing.T, cfg convergeConfig) convergeReport {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := faults.New(cfg.spec)
	st, err := Start(ctx, Config{
		Addr: "127.0.0.1:0", InMemory: true, Logger: slog.New(slog.DiscardHandler), Faults: in,
		// Retries scaled down so the test runs in seconds; attempts and dead
		// letters are as without the scale.
		RetryBaseDelay: 2 * time.Millisecond, RetryMaxDelay: 100 * time.Millisecond,
		// Queue visibility timeouts scaled the same way: 180 s becomes 360 ms.
		TimeScale: 0.002,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = st.Close(ctx)
	})
	c := &client{base: st.URL(), t: t}
	var health struct {
		Faults *faults.Status `json:"faults"`
	}
	c.getJSON(HealthPath, &health)
	require.NotNil(t, health.Faults, "/healthz reports the faults")
	require.Equal(t, cfg.spec.String(), health.Faults.Spec)

	var r convergeReport
	all := []*wsClient{dialWS(ctx, t, st.URL()), dialWS(ctx, t, st.URL())}
	for _, w := range all {
		w.subscribe(ctx, t, "*")
	}
	ids := make([]string, cfg.concerts)
	for i := range ids {
		ids[i] = c.schedule(i)
	}
	// Clients of some concerts only: every second, every third concert.
	some := []*wsClient{dialWS(ctx, t, st.URL()), dialWS(ctx, t, st.URL())}
	for k, w := range some {
		for i, id := range ids {
			if i%(k+2) == 0 {
				w.subscribe(ctx, t, id)
			}
		}
	}
	clients := append(all, some...)
	r.clients = len(clients)

	// Watch the read model while it changes: a view must never go backwards.
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan error, 1)
	go func() { watched <- c.watchViews(watchCtx, len(ids)) }()

	started := time.Now()
	rng := rand.New(rand.NewPCG(cfg.spec.Seed, 77))
	jobs := make(chan func() int, cfg.writes)
	for n := range cfg.writes {
		id := ids[rng.IntN(len(ids))]
		q, price, day := 1+rng.IntN(4), rng.IntN(100000), 1+rng.IntN(28)
		switch {
		case n%10 < 7:
			jobs <- func() int { return c.write("POST", "/concerts/"+id+"/tickets", fmt.Sprintf(`{"quantity":%d}`, q)) }
		case n%10 < 9:
			jobs <- func() int { return c.write("PATCH", "/concerts/"+id, fmt.Sprintf(`{"priceCents":%d}`, price)) }
		default:
			jobs <- func() int {
				return c.write("POST", "/concerts/"+id+"/reschedule", fmt.Sprintf(`{"startsAt":"2031-%02d-%02dT20:00:00Z"}`, 1+n%12, day))
			}
		}
	}
	close(jobs)
	var refused atomic.Int64
	var wg sync.WaitGroup
	for range cfg.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if job() == http.StatusConflict { // sold out: a refused write, no event
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	for i := 0; i < len(ids); i += 4 { // a concert's last change is often its cancellation
		if c.write("POST", "/concerts/"+ids[i]+"/cancel", `{"reason":"storm"}`) == http.StatusConflict {
			refused.Add(1)
		}
	}
	r.writes = cfg.writes + len(ids) + (len(ids)+3)/4
	r.refused = int(refused.Load())
	r.writing = time.Since(started)

	// Redrive every dead letter until nothing is pending and none is left.
	settled := time.Now()
	quiet := 0
	for quiet < 3 {
		require.NoError(t, ctx.Err(), "no convergence in time")
		require.NoError(t, st.pipe.Sync(ctx))
		pending, err := st.bus.Pending()
		require.NoError(t, err)
		pending += st.queuedMessages(t)
		dead, err := st.bus.DeadLetters(ctx)
		require.NoError(t, err)
		pipeDead := st.pipeDeadLetters(t)
		if len(dead) > 0 {
			n, err := st.bus.Redrive(ctx)
			require.NoError(t, err)
			r.busRedriven += n
		}
		if pipeDead > 0 {
			r.pipeRedriven += st.redrivePipe(t, ctx)
		}
		if len(dead) > 0 || pipeDead > 0 {
			r.rounds++
		}
		if pending == 0 && len(dead) == 0 && pipeDead == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(cfg.spec.Delay + 50*time.Millisecond) // a delayed copy of a delivery lands within Delay
	}
	r.settling = time.Since(settled)
	stopWatch()
	require.NoError(t, <-watched, "a view went backwards")
	r.injected = in.Counts()
	for _, k := range []faults.Kind{faults.Invoke, faults.After, faults.Put, faults.Dup, faults.Delay} {
		require.Positive(t, r.injected[k], "no %s fault injected: the test proves nothing about it", k)
	}

	// Every view is at its log's last version and is what a rebuild makes of it.
	final := map[string]int64{}
	before := map[string][]byte{}
	for _, id := range ids {
		body := c.get("/concerts/" + id)
		var v struct {
			Version int64 `json:"version"`
		}
		require.NoError(t, json.Unmarshal(body, &v))
		require.Equal(t, c.lastLogVersion(id), v.Version, "concert %s: view version %d, log's last version differs", id, v.Version)
		final[id], before[id] = v.Version, body
	}
	resp, err := http.Post(st.URL()+RebuildPath, "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "rebuild: %s", out)
	for _, id := range ids {
		after := c.get("/concerts/" + id)
		require.Equal(t, string(before[id]), string(after), "concert %s: got the live view, want the rebuild's byte for byte", id)
	}

	// Every client got each of its concerts' final version last, never going back.
	for ci, w := range clients {
		for _, id := range ids {
			if !w.wants(id) {
				continue
			}
			require.Eventually(t, func() bool { return w.last(id) == final[id] }, 10*time.Second, 10*time.Millisecond,
				"client %d, concert %s: got last version %d, want %d", ci, id, w.last(id), final[id])
		}
		seq, backwards := w.check()
		require.Empty(t, backwards, "client %d saw versions go backwards", ci)
		r.notifications += seq
	}
	return r
}

// client calls devstack's REST API.
type client struct {
	base string
	t    *testing.T
}

func (c *client) do(method, path, body string) (int, []byte) {
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
		require.NoError(c.t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(c.t, err)
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(c.t, err)
		if resp.StatusCode < 500 || attempt == 5 {
			return resp.StatusCode, out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *client) write(method, path, body string) int {
	status, out := c.do(method, path, body)
	if status != http.StatusConflict {
		require.Less(c.t, status, 300, "%s %s: %d %s", method, path, status, out)
	}
	return status
}

func (c *client) get(path string) []byte {
	status, out := c.do("GET", path, "")
	require.Equal(c.t, http.StatusOK, status, "GET %s: %s", path, out)
	return out
}

func (c *client) getJSON(path string, v any) {
	require.NoError(c.t, json.Unmarshal(c.get(path), v))
}

func (c *client) schedule(i int) string {
	status, out := c.do("POST", "/concerts", fmt.Sprintf(
		`{"artist":"Artist %d","venue":"Venue %d","startsAt":"2031-06-01T20:00:00Z","capacity":1000000,"priceCents":4200}`, i, i))
	require.Equal(c.t, http.StatusCreated, status, "schedule: %s", out)
	var r struct {
		ID string `json:"id"`
	}
	require.NoError(c.t, json.Unmarshal(out, &r))
	return r.ID
}

// lastLogVersion pages the concert's history to its last event.
func (c *client) lastLogVersion(id string) int64 {
	var last int64
	cursor := ""
	for {
		var page struct {
			Events []struct {
				Version int64 `json:"version"`
			} `json:"events"`
			NextCursor string `json:"nextCursor"`
		}
		path := "/concerts/" + id + "/events?limit=1000"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		c.getJSON(path, &page)
		if n := len(page.Events); n > 0 {
			last = page.Events[n-1].Version
		}
		if page.NextCursor == "" {
			return last
		}
		cursor = page.NextCursor
	}
}

// watchViews lists the views again and again until ctx ends; an error when a
// concert's version is ever lower than one seen before.
func (c *client) watchViews(ctx context.Context, concerts int) error {
	seen := map[string]int64{}
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/concerts?limit=100", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // ctx ended
		}
		var page struct {
			Items []struct {
				ID      string `json:"id"`
				Version int64  `json:"version"`
			} `json:"items"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || concerts > 100 {
			return fmt.Errorf("list views: %v (watching at most 100 concerts)", err)
		}
		for _, v := range page.Items {
			if v.Version < seen[v.ID] {
				return fmt.Errorf("concert %s: view at v%d after v%d", v.ID, v.Version, seen[v.ID])
			}
			seen[v.ID] = v.Version
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// wsClient is a WebSocket client recording every concert.updated version per concert.
type wsClient struct {
	conn   *websocket.Conn
	topics map[string]bool
	mu     sync.Mutex
	seen   map[string][]int64
	reply  chan string
}

func dialWS(ctx context.Context, t *testing.T, base string) *wsClient {
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+WebSocketPath, nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.CloseNow() })
	w := &wsClient{conn: conn, topics: map[string]bool{}, seen: map[string][]int64{}, reply: make(chan string, 1)}
	go w.read()
	return w
}

func (w *wsClient) subscribe(ctx context.Context, t *testing.T, topic string) {
	require.NoError(t, w.conn.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"action":"subscribe","concertId":%q}`, topic))))
	select {
	case got := <-w.reply:
		require.JSONEq(t, fmt.Sprintf(`{"type":"subscribed","concertId":%q}`, topic), got)
	case <-ctx.Done():
		t.Fatal("no subscribe reply")
	}
	w.topics[topic] = true
}

func (w *wsClient) read() {
	for {
		_, msg, err := w.conn.Read(context.Background())
		if err != nil {
			return
		}
		var m struct {
			Type      string `json:"type"`
			ConcertID string `json:"concertId"`
			Version   int64  `json:"version"`
		}
		if json.Unmarshal(msg, &m) != nil {
			continue
		}
		if m.Type != "concert.updated" {
			w.reply <- string(msg)
			continue
		}
		w.mu.Lock()
		w.seen[m.ConcertID] = append(w.seen[m.ConcertID], m.Version)
		w.mu.Unlock()
	}
}

func (w *wsClient) wants(id string) bool { return w.topics["*"] || w.topics[id] }

func (w *wsClient) last(id string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.seen[id]
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// check counts the notifications and lists every concert whose versions did not
// strictly increase.
func (w *wsClient) check() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	var bad []string
	for id, vs := range w.seen {
		n += len(vs)
		for i := 1; i < len(vs); i++ {
			if vs[i] <= vs[i-1] {
				bad = append(bad, fmt.Sprintf("%s: %v", id, vs[max(0, i-3):min(len(vs), i+2)]))
				break
			}
		}
	}
	slices.Sort(bad)
	return n, bad
}

// pipeDeadLetters counts the pipe's dead letters.
func (s *Stack) pipeDeadLetters(t *testing.T) int {
	dls, err := s.pipe.DeadLetters()
	require.NoError(t, err)
	return len(dls)
}

// redrivePipe redrives every dead letter of the pipe.
func (s *Stack) redrivePipe(t *testing.T, ctx context.Context) int {
	n, err := s.pipe.Redrive(ctx)
	require.NoError(t, err)
	return n
}

// queuedMessages counts the messages still in the consumers' and workers' queues
// (received or not), leaving out the dead-letter queues, whose messages the bus
// lists as dead letters.
func (s *Stack) queuedMessages(t *testing.T) int {
	n := 0
	for _, name := range s.queues.Queues() {
		if strings.HasSuffix(name, DeadLetterQueueSuffix) {
			continue
		}
		q, err := s.queues.Queue(name)
		require.NoError(t, err)
		a := q.Attributes()
		n += a.Visible + a.NotVisible
	}
	return n
}
