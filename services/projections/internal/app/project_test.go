package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/queueconsumer"
	"github.com/concertsys/platform/testkit/dynamotest"
	"github.com/concertsys/platform/testkit/schemavalidate"
	"github.com/concertsys/services/projections/internal/adapters/boltviews"
	"github.com/concertsys/services/projections/internal/adapters/dynamoviews"
	"github.com/concertsys/services/projections/internal/adapters/ebpublisher"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
	"github.com/concertsys/services/projections/internal/ports"
	"github.com/concertsys/services/projections/internal/publishtest"
	"github.com/concertsys/services/projections/viewevents"
)

// harness is one view store and one bus shared by consumers.
type harness struct {
	views app.ViewStore
	bus   *publishtest.Bus
}

// newHarness uses a bbolt view store.
func newHarness(t testing.TB) *harness {
	t.Helper()
	views, err := boltviews.Open(filepath.Join(t.TempDir(), "views.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = views.Close() })
	return newHarnessWith(t, views)
}

func newHarnessWith(t testing.TB, views app.ViewStore) *harness {
	t.Helper()
	return &harness{views: views, bus: publishtest.Start(t)}
}

// consumer is one consumer instance (one Lambda container) over the shared parts.
func (h *harness) consumer() func(context.Context, events.EventBridgeEvent) error {
	pub := app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName))
	return ports.ConcertEvents(app.NewProjectConcertEvent(h.views, pub, nil), discard())
}

// inOrder folds a history in order, each event without the state it carries (as
// published before events carried it): what every delivery schedule of the events
// with state must end in, computed the other way.
func inOrder(t testing.TB, history []domain.Event) viewevents.ConcertViewV1 {
	t.Helper()
	v := domain.New(history[0].Meta.AggregateID)
	for _, e := range history {
		require.NoError(t, v.Apply(historygen.WithoutState(e)))
	}
	return v.State()
}

func seed(t testing.TB) uint64 {
	if s := os.Getenv("PROJECTIONS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "PROJECTIONS_SEED")
		return n
	}
	return uint64(time.Now().UnixNano())
}

func TestProjectionConvergesUnderDuplicatesReorderingAndLoss(t *testing.T) {
	for _, batched := range []bool{false, true} {
		name := map[bool]string{false: "per event", true: "SQS batches"}[batched]
		t.Run(name, func(t *testing.T) {
			t.Run("bbolt", func(t *testing.T) { converges(t, newHarness(t), 20, batched) })
			// The same property on the DynamoDB adapter (minidyn: atomic conditional writes).
			t.Run("dynamodb", func(t *testing.T) {
				b := dynamotest.Minidyn(t)
				require.NoError(t, dynamoviews.CreateTable(context.Background(), b.Client, "views"))
				converges(t, newHarnessWith(t, dynamoviews.New(b.Client, "views")), 3, batched)
			})
		})
	}
}

// converges checks the property over rounds of 25 random histories. batched: each
// consumer instance takes its deliveries in SQS batches of up to 10 through
// queueconsumer (records run concurrently, one concert's share a lane), some events
// come without their state (so some records fail with a gap and are redelivered
// alone), and a failed record goes back to the queue.
func converges(t *testing.T, h *harness, rounds int, batched bool) {
	s := seed(t)
	r := rand.New(rand.NewPCG(s, 0x5eed))
	failMsg := fmt.Sprintf("seed %d (rerun with PROJECTIONS_SEED=%d)", s, s)
	t.Log(failMsg)
	ctx := context.Background()
	const concerts = 25
	want := map[string]viewevents.ConcertViewV1{}
	total := 0
	for round := range rounds {
		var deliveries []events.EventBridgeEvent
		for c := range concerts {
			history := historygen.History(r, fmt.Sprintf("r%d-c%d", round, c), 1+r.IntN(20))
			want[history[0].Meta.AggregateID] = inOrder(t, history)
			total += len(history)
			lost := false
			for i, e := range history {
				// Lose some events on the bus (never the last: that one the bus must
				// deliver at least once; a later event's state covers a lost one),
				// duplicate others.
				copies := 1
				if i < len(history)-1 && r.Float64() < 0.1 {
					copies = 0
					lost = true
				} else if r.Float64() < 0.3 {
					copies += 1 + r.IntN(2)
				}
				// Without state an event needs every earlier one delivered.
				if batched && !lost && i > 0 && r.Float64() < 0.2 {
					e = historygen.WithoutState(e)
				}
				for range copies {
					deliveries = append(deliveries, historygen.BusEvent(e))
				}
			}
		}
		r.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
		// Two consumer instances on the same store, concurrently; a failed delivery
		// is redelivered later, as EventBridge does.
		queues := [2][]events.EventBridgeEvent{}
		for _, d := range deliveries {
			k := r.IntN(2)
			queues[k] = append(queues[k], d)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, q := range queues {
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle := h.consumer()
				if batched {
					errs <- consumeBatches(ctx, handle, q, 10*len(deliveries))
					return
				}
				for attempts := 0; len(q) > 0; attempts++ {
					if attempts > 10*len(deliveries) {
						errs <- fmt.Errorf("deliveries keep failing: %d left", len(q))
						return
					}
					ev := q[0]
					q = q[1:]
					if err := handle(ctx, ev); err != nil {
						q = append(q, ev)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, failMsg)
		}
	}
	t.Logf("%d concerts, %d events", len(want), total)
	for id, w := range want {
		rec, err := h.views.Get(ctx, id)
		require.NoError(t, err, failMsg)
		wantJSON, _ := json.Marshal(w)
		gotJSON, _ := json.Marshal(rec.View)
		require.Equal(t, string(wantJSON), string(gotJSON), "concert %s: %s", id, failMsg)
		require.Equal(t, rec.View.Version, rec.PublishedVersion, "concert %s: publish owed: %s", id, failMsg)
	}

	// Every final view reached the bus, with a deterministic id, and every published
	// detail matches the published schema.
	h.bus.WaitFor(t, func(got []app.ConcertViewUpdated) bool {
		final := 0
		for _, d := range got {
			if w, ok := want[d.Metadata.AggregateID]; ok && d.Metadata.AggregateVersion == w.Version {
				final++
			}
		}
		return final >= len(want)
	})
	registry := schemas(t)
	for _, raw := range h.bus.RawDetails() {
		require.NoError(t, registry.Validate(viewevents.Source, viewevents.ConcertViewUpdated, 1, raw))
	}
	for _, d := range h.bus.Received() {
		require.Equal(t, app.EventID(d.Metadata.AggregateID, d.Metadata.AggregateVersion), d.Metadata.EventID)
		require.Equal(t, d.Data.Version, d.Metadata.AggregateVersion)
		require.Equal(t, d.Data.UpdatedAt, d.Metadata.OccurredAt)
	}
}

// consumeBatches delivers q in SQS batches of 10 through queueconsumer until every
// record succeeded, putting a failed record back at the end of the queue as SQS
// would after its visibility timeout.
func consumeBatches(ctx context.Context, handle func(context.Context, events.EventBridgeEvent) error, q []events.EventBridgeEvent, maxBatches int) error {
	handler := queueconsumer.New(handle, discard())
	for batches := 0; len(q) > 0; batches++ {
		if batches > maxBatches {
			return fmt.Errorf("deliveries keep failing: %d left", len(q))
		}
		n := min(10, len(q))
		var batch events.SQSEvent
		for i, ev := range q[:n] {
			body, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			batch.Records = append(batch.Records, events.SQSMessage{MessageId: strconv.Itoa(i), Body: string(body)})
		}
		resp, err := handler(ctx, batch)
		if err != nil {
			return err
		}
		failed := q[:0:0]
		for _, f := range resp.BatchItemFailures {
			i, _ := strconv.Atoi(f.ItemIdentifier)
			failed = append(failed, q[i])
		}
		q = append(q[n:], failed...)
	}
	return nil
}

func schemas(t testing.TB) *schemavalidate.Registry {
	t.Helper()
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	reg, err := schemavalidate.Load(dir)
	require.NoError(t, err)
	return reg
}
