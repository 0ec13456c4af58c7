package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// received is one concert.updated as a client got it.
type received struct {
	ConcertID   string `json:"concertId"`
	Version     int64  `json:"version"`
	ViewOmitted bool   `json:"viewOmitted"`
	View        *view  `json:"view"`
	at          time.Time
}

// subscriber is a WebSocket client subscribed to one topic that records every message.
type subscriber struct {
	topic string
	conn  *websocket.Conn

	mu      sync.Mutex
	updates []received
	other   []string // anything but concert.updated after the subscribe reply
	latest  sync.Map // concert id -> *atomic.Int64, the highest version received
	done    chan struct{}
	readErr error
}

// subscribe dials /ws, subscribes to topic and waits for the reply, then records in
// the background until the connection ends.
func subscribe(ctx context.Context, base, topic string) (*subscriber, error) {
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	msg := fmt.Sprintf(`{"action":"subscribe","concertId":%q}`, topic)
	if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("send subscribe: %w", err)
	}
	_, reply, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("read subscribe reply: %w", err)
	}
	if want := fmt.Sprintf(`{"type":"subscribed","concertId":%q}`, topic); string(reply) != want {
		conn.CloseNow()
		return nil, fmt.Errorf("subscribe reply %s, want %s", reply, want)
	}
	s := &subscriber{topic: topic, conn: conn, done: make(chan struct{})}
	go s.read()
	return s, nil
}

func (s *subscriber) read() {
	defer close(s.done)
	for {
		_, msg, err := s.conn.Read(context.Background())
		at := time.Now()
		if err != nil {
			s.mu.Lock()
			s.readErr = err
			s.mu.Unlock()
			return
		}
		var r received
		var typ struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(msg, &typ) != nil || typ.Type != "concert.updated" || json.Unmarshal(msg, &r) != nil {
			s.mu.Lock()
			s.other = append(s.other, string(msg))
			s.mu.Unlock()
			continue
		}
		r.at = at
		s.mu.Lock()
		s.updates = append(s.updates, r)
		s.mu.Unlock()
		v, _ := s.latest.LoadOrStore(r.ConcertID, new(atomic.Int64))
		latest := v.(*atomic.Int64)
		for cur := latest.Load(); r.Version > cur && !latest.CompareAndSwap(cur, r.Version); cur = latest.Load() {
		}
	}
}

func (s *subscriber) highest(concertID string) int64 {
	v, ok := s.latest.Load(concertID)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (s *subscriber) snapshot() ([]received, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.updates), slices.Clone(s.other)
}

// subscribeMany opens n subscribers to topic, a few handshakes at a time.
func subscribeMany(t *testing.T, base, topic string, n int) []*subscriber {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	subs := make([]*subscriber, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			subs[i], errs[i] = subscribe(ctx, base, topic)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "subscriber %d of %q", i, topic)
		s := subs[i]
		t.Cleanup(func() { s.conn.CloseNow() })
	}
	return subs
}

// waitAll waits until every subscriber has received concertID at version or later.
func waitAll(t *testing.T, subs []*subscriber, concertID string, version int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		behind := 0
		for _, s := range subs {
			if s.highest(concertID) < version {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d subscribers have not received %s v%d within 15s", behind, len(subs), concertID, version)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestWebSocketFanOut opens 200 WebSocket clients subscribed to one concert and 50
// subscribed to "*", sells tickets over HTTP and checks that every client gets every
// change exactly once, in order, with the right view: versions strictly increasing per
// concert and ending at the last one; every version of a sale that was awaited (its
// notification reached every client before the next sale) received; only the
// versions of a burst of concurrent sales may be coalesced, as the protocol allows.
// It logs the write-to-notification latency (from sending the sale to a client
// reading the message) of the awaited sales.
func TestWebSocketFanOut(t *testing.T) {
	const perConcert, wildcard = 200, 50
	p := startDevstack(t, freeAddr(t), "-data", t.TempDir(), "-auth=off")

	schedule := func(artist string) string {
		res := do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(
			`{"artist":%q,"venue":"Fan-out Hall","startsAt":%q,"capacity":100000,"priceCents":1000}`, artist, future(72*time.Hour)))
		require.Equal(t, http.StatusCreated, res.status, "POST /concerts: %s", res.body)
		var w written
		res.json(t, &w)
		return w.ID
	}
	// The fan-out of each concert's version 1 must be over before the clients
	// subscribe: a subscription racing it could see that concert.updated before its
	// "subscribed" reply (the protocol orders neither). A probe on "*" tells when.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	probe, err := subscribe(ctx, p.url, "*")
	require.NoError(t, err)
	t.Cleanup(func() { probe.conn.CloseNow() })
	id, otherID := schedule("Many Listeners"), schedule("Someone Else")
	waitAll(t, []*subscriber{probe}, id, 1)
	waitAll(t, []*subscriber{probe}, otherID, 1)

	started := time.Now()
	concertSubs := subscribeMany(t, p.url, id, perConcert)
	allSubs := subscribeMany(t, p.url, "*", wildcard)
	t.Logf("%d clients subscribed in %s", perConcert+wildcard, time.Since(started).Round(time.Millisecond))
	everyone := append(slices.Clone(concertSubs), allSubs...)

	// soldAt[concert][version] is ticketsSold of that version: version 1 sold none.
	var mu sync.Mutex
	soldAt := map[string]map[int64]int{id: {1: 0}, otherID: {1: 0}}
	quantities := map[string]map[int64]int{id: {}, otherID: {}}
	sell := func(concert string, quantity int) (int64, time.Time, error) {
		sent := time.Now()
		res, err := tryDo(context.Background(), http.MethodPost, p.url+"/concerts/"+concert+"/tickets", fmt.Sprintf(`{"quantity":%d}`, quantity))
		if err != nil {
			return 0, sent, err
		}
		if res.status != http.StatusOK {
			return 0, sent, fmt.Errorf("sell %d of %s: %d %s", quantity, concert, res.status, res.body)
		}
		var w written
		if err := json.Unmarshal(res.body, &w); err != nil {
			return 0, sent, err
		}
		mu.Lock()
		quantities[concert][w.Version] = quantity
		mu.Unlock()
		return w.Version, sent, nil
	}

	// Awaited sales: each one's notification reaches every client before the next.
	type awaited struct {
		version int64
		sent    time.Time
	}
	var sales []awaited
	for q := 1; q <= 8; q++ {
		v, sent, err := sell(id, q)
		require.NoError(t, err)
		waitAll(t, everyone, id, v)
		sales = append(sales, awaited{v, sent})
	}

	// A burst of concurrent sales on both concerts; the projection may apply several
	// of them at once and publish only the latest version.
	var wg sync.WaitGroup
	burstErrs := make(chan error, 12)
	for i := range 12 {
		concert := id
		if i%4 == 3 {
			concert = otherID
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := sell(concert, 1); err != nil {
				burstErrs <- err
			}
		}()
	}
	wg.Wait()
	close(burstErrs)
	for err := range burstErrs {
		require.NoError(t, err)
	}
	final := map[string]int64{}
	for concert, qs := range quantities {
		versions := slices.Sorted(func(yield func(int64) bool) {
			for v := range qs {
				if !yield(v) {
					return
				}
			}
		})
		sold := 0
		for i, v := range versions {
			require.Equal(t, int64(i+2), v, "sales of %s must have versions 2, 3, …: %v", concert, versions)
			sold += qs[v]
			soldAt[concert][v] = sold
		}
		final[concert] = versions[len(versions)-1]
	}
	waitAll(t, everyone, id, final[id])
	waitAll(t, allSubs, otherID, final[otherID])
	// Late duplicates would arrive now.
	time.Sleep(300 * time.Millisecond)

	var latencies []time.Duration
	for i, s := range everyone {
		updates, other := s.snapshot()
		require.Empty(t, other, "client %d (%s) got unexpected messages", i, s.topic)
		last := map[string]int64{}
		got := map[string][]int64{}
		for _, u := range updates {
			if s.topic != "*" {
				require.Equal(t, s.topic, u.ConcertID, "client %d subscribed to %s got another concert", i, s.topic)
			}
			require.Greater(t, u.Version, last[u.ConcertID],
				"client %d (%s): %s v%d after v%d: versions must strictly increase (no duplicates, no going back)", i, s.topic, u.ConcertID, u.Version, last[u.ConcertID])
			last[u.ConcertID] = u.Version
			got[u.ConcertID] = append(got[u.ConcertID], u.Version)
			require.False(t, u.ViewOmitted, "a small view must be sent in full")
			require.NotNil(t, u.View, "client %d: %s v%d without a view", i, u.ConcertID, u.Version)
			wantSold, ok := soldAt[u.ConcertID][u.Version]
			require.True(t, ok, "client %d: %s v%d is no version this test wrote", i, u.ConcertID, u.Version)
			require.Equal(t, u.ConcertID, u.View.ID)
			require.Equal(t, u.Version, u.View.Version, "client %d: message version and view version differ", i)
			require.Equal(t, wantSold, u.View.TicketsSold, "client %d: ticketsSold of %s v%d", i, u.ConcertID, u.Version)
			require.Equal(t, 100000-wantSold, u.View.TicketsAvailable)
		}
		require.Equal(t, final[id], last[id], "client %d (%s) must end at the final version of the concert; got %v", i, s.topic, got[id])
		if s.topic == "*" {
			require.Equal(t, final[otherID], last[otherID], "client %d (*) must end at the final version of the other concert; got %v", i, got[otherID])
		}
		for _, sale := range sales {
			idx := slices.Index(got[id], sale.version)
			require.GreaterOrEqual(t, idx, 0, "client %d (%s) missed v%d of an awaited sale; got %v", i, s.topic, sale.version, got[id])
			for _, u := range updates {
				if u.ConcertID == id && u.Version == sale.version {
					latencies = append(latencies, u.at.Sub(sale.sent))
				}
			}
		}
	}
	slices.Sort(latencies)
	pct := func(q float64) time.Duration { return latencies[min(len(latencies)-1, int(q*float64(len(latencies))))] }
	t.Logf("write-to-notification latency over %d deliveries (%d awaited sales x %d clients): p50 %s, p99 %s, max %s",
		len(latencies), len(sales), len(everyone), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond))
}
