package concerts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/eventlog/dynamolog"
	"github.com/concertsys/platform/testkit/dynamotest"
	"github.com/concertsys/tools/local/boltlog"

	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/concerts/concertevents"
	"github.com/concertsys/services/concerts/embedded"
)

// longHistory is the sold-out stadium of the cost tests: events stored before the
// measured command.
const longHistory = 20_000

// readCounter counts what a cold command reads through the ports: stored items
// returned (events and snapshots) and read calls.
type readCounter struct {
	mu           sync.Mutex
	items, calls int
}

func (c *readCounter) add(items int) {
	c.mu.Lock()
	c.items += items
	c.calls++
	c.mu.Unlock()
}

func (c *readCounter) reset() (items, calls int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	items, calls = c.items, c.calls
	c.items, c.calls = 0, 0
	return items, calls
}

type countingLog struct {
	eventlog.Log
	n *readCounter
}

func (l countingLog) Load(ctx context.Context, id string) ([]eventlog.Event, error) {
	evs, err := l.Log.Load(ctx, id)
	l.n.add(len(evs))
	return evs, err
}

func (l countingLog) LoadAfter(ctx context.Context, id string, after int64) ([]eventlog.Event, error) {
	evs, err := l.Log.LoadAfter(ctx, id, after)
	l.n.add(len(evs))
	return evs, err
}

type countingSnapshots struct {
	eventlog.SnapshotStore
	n *readCounter
}

func (s countingSnapshots) Latest(ctx context.Context, id string) (eventlog.Snapshot, error) {
	snap, err := s.SnapshotStore.Latest(ctx, id)
	if err == nil {
		s.n.add(1)
	} else {
		s.n.add(0)
	}
	return snap, err
}

// wireCounter counts, on the HTTP wire to DynamoDB, the items of GetItem and Query
// responses and the read units they cost under DynamoDB's rules for strongly
// consistent reads (one unit per started 4 KB of the items read by one request, at
// least one), with the item's JSON on the wire as its size (an overestimate).
type wireCounter struct {
	next http.RoundTripper

	mu                  sync.Mutex
	items, units, calls int
}

func (w *wireCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	target := req.Header.Get("X-Amz-Target")
	resp, err := w.next.RoundTrip(req)
	if err != nil || (target != "DynamoDB_20120810.GetItem" && target != "DynamoDB_20120810.Query") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var out struct {
		Item  json.RawMessage   `json:"Item"`
		Items []json.RawMessage `json:"Items"`
	}
	_ = json.Unmarshal(body, &out)
	size, items := 0, len(out.Items)
	for _, it := range out.Items {
		size += len(it)
	}
	if len(out.Item) > 0 && string(out.Item) != "null" {
		items++
		size += len(out.Item)
	}
	w.mu.Lock()
	w.items += items
	w.units += max(1, (size+4095)/4096)
	w.calls++
	w.mu.Unlock()
	return resp, nil
}

func (w *wireCounter) reset() (items, units, calls int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	items, units, calls = w.items, w.units, w.calls
	w.items, w.units, w.calls = 0, 0, 0
	return items, units, calls
}

// costStores is one backend's ports for the cost test: every fresh() is a new
// process (cold cache) over the same stored data.
type costStores struct {
	log   eventlog.Log
	snaps eventlog.SnapshotStore
	idem  concerts.IdempotencyStore
}

type routes map[string]func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

func coldService(t *testing.T, st costStores, n *readCounter) routes {
	t.Helper()
	svc, err := concerts.New(context.Background(), concerts.Deps{
		Log: countingLog{st.log, n}, Snapshots: countingSnapshots{st.snaps, n}, Idempotency: st.idem,
	})
	require.NoError(t, err)
	out := routes{}
	for _, r := range svc.HTTPRoutes {
		out[r.RouteKey] = r.Handler
	}
	return out
}

// seedHistory stores a concert with ConcertScheduled and count-1 single-ticket sales
// straight into the log, in batches, as years of commands would have left it.
func seedHistory(t testing.TB, log eventlog.Log, id string, count int) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	scheduled, err := json.Marshal(concertevents.ConcertScheduledV1{Artist: "A", Venue: "Stadium",
		StartsAt: time.Date(2999, 1, 1, 20, 0, 0, 0, time.UTC), Capacity: 1_000_000, PriceCents: 100})
	require.NoError(t, err)
	var batch []eventlog.Event
	for v := 1; v <= count; v++ {
		e := eventlog.Event{AggregateID: id, Version: int64(v), EventID: fmt.Sprintf("%s-%d", id, v),
			EventType: concertevents.TicketsSold, SchemaVersion: 1, OccurredAt: at}
		if v == 1 {
			e.EventType, e.Data = concertevents.ConcertScheduled, scheduled
		} else {
			e.Data, err = json.Marshal(concertevents.TicketsSoldV1{Quantity: 1, TicketsSold: v - 1, TicketsAvailable: 1_000_000 - (v - 1)})
			require.NoError(t, err)
		}
		batch = append(batch, e)
		if len(batch) == eventlog.MaxBatchEvents || v == count {
			require.NoError(t, log.Append(ctx, batch))
			batch = nil
		}
	}
}

// coldCost measures what one cold ticket sale reads on a new concert and on one with
// longHistory events: right after a snapshot and at the worst point (every-1 events
// after it). It returns items read through the ports for each.
func coldCost(t *testing.T, st costStores, between func(label string)) (fresh, afterSnap, worst int) {
	t.Helper()
	n := &readCounter{}
	every := concerts.DefaultSnapshotEvery

	// A new concert: scheduled, then one sale by a cold process.
	svc := coldService(t, st, n)
	resp, err := svc["POST /concerts"](context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: "POST /concerts",
		Headers: map[string]string{"content-type": "application/json"},
		Body:    `{"artist":"A","venue":"V","startsAt":"2999-01-01T20:00:00Z","capacity":100,"priceCents":100}`})
	require.NoError(t, err)
	require.Equal(t, 201, resp.StatusCode, resp.Body)
	newID := resp.Headers["Location"][len("/concerts/"):]
	n.reset()
	between("")
	sell(t, coldService(t, st, n), newID)
	fresh, _ = n.reset()
	between("new concert")

	// The stadium: longHistory events stored before snapshots existed. The first cold
	// command folds them all and stores a snapshot.
	bigID := "stadium"
	seedHistory(t, st.log, bigID, longHistory)
	sell(t, coldService(t, st, n), bigID)
	migrate, _ := n.reset()
	require.Equal(t, longHistory, migrate, "the first load without a snapshot folds the whole history once")
	between("")
	warm := coldService(t, st, n)
	sell(t, warm, bigID) // cold: the snapshot just stored
	afterSnap, _ = n.reset()
	between("20000 events, just after a snapshot")
	// Advance to every-1 events after the latest snapshot: the most a cold load reads.
	// Snapshots are stored at 20,001 (the fold above) and at every multiple of every.
	for v := longHistory + 2; v%every != every-1 || v < longHistory+every; v++ {
		sell(t, warm, bigID)
	}
	n.reset()
	between("")
	sell(t, coldService(t, st, n), bigID)
	worst, _ = n.reset()
	between("20000 events, worst point")
	return fresh, afterSnap, worst
}

// TestColdCommandCostIsFlatWithSnapshots: a cold command on a concert with 20,000
// events reads a snapshot and fewer than DefaultSnapshotEvery events, not the history.
// Counted (not timed), so it may be asserted; the times are in BenchmarkColdCommand.
func TestColdCommandCostIsFlatWithSnapshots(t *testing.T) {
	every := concerts.DefaultSnapshotEvery
	check := func(t *testing.T, fresh, afterSnap, worst int) {
		t.Logf("items read by one cold sale: new concert %d, %d events just after a snapshot %d, at the worst point %d",
			fresh, longHistory, afterSnap, worst)
		require.Equal(t, 1, fresh, "a new concert: its one event")
		require.LessOrEqual(t, afterSnap, 2*fresh, "just after a snapshot: the snapshot and nothing else")
		require.Equal(t, 1+every-1, worst, "the snapshot and every-1 events, never more")
	}
	t.Run("bbolt", func(t *testing.T) {
		dir := t.TempDir()
		log, err := boltlog.Open(filepath.Join(dir, "events.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = log.Close() })
		snaps, err := boltlog.OpenSnapshots(filepath.Join(dir, "snapshots.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = snaps.Close() })
		idem, err := embedded.OpenIdempotency(filepath.Join(dir, "idempotency.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = idem.Close() })
		fresh, afterSnap, worst := coldCost(t, costStores{log: log, snaps: snaps, idem: idem}, func(string) {})
		check(t, fresh, afterSnap, worst)
	})
	// minidyn only: storing 20,000 items in moto takes minutes; the snapshot adapter
	// passes its conformance suite on both.
	t.Run("minidyn", func(t *testing.T) {
		b := dynamotest.Minidyn(t)
		wire := &wireCounter{next: http.DefaultTransport}
		client := dynamodb.New(b.Client.Options(), func(o *dynamodb.Options) {
			o.HTTPClient = &http.Client{Transport: wire, Timeout: 30 * time.Second}
		})
		st := costStores{
			log:   dynamolog.New(client, b.NewTable(t, "events", dynamolog.CreateTable)),
			snaps: dynamolog.NewSnapshots(client, b.NewTable(t, "snapshots", dynamolog.CreateSnapshotTable)),
			idem:  concerts.NewDynamoIdempotency(client, b.NewTable(t, "idempotency", concerts.CreateIdempotencyTable)),
		}
		type wireCost struct{ items, units, calls int }
		got := map[string]wireCost{}
		fresh, afterSnap, worst := coldCost(t, st, func(label string) {
			items, units, calls := wire.reset()
			if label != "" {
				got[label] = wireCost{items, units, calls}
			}
		})
		check(t, fresh, afterSnap, worst)
		// On the wire: the same number of read requests, and read units within twice
		// the new concert's (idempotency lookups included in both).
		for _, label := range []string{"20000 events, just after a snapshot", "20000 events, worst point"} {
			t.Logf("%s: %+v; new concert: %+v", label, got[label], got["new concert"])
			require.Equal(t, got["new concert"].calls, got[label].calls, label)
			require.LessOrEqual(t, got[label].units, 2*got["new concert"].units, label)
		}
	})
}
