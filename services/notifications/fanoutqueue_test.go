package notifications_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/queueconsumer"
)

// The fan-out behind its SQS queue: batches of 10 run their records concurrently
// (queueconsumer), two pollers at once, every version delivered twice in any order,
// to two concerts. A "*" subscriber and a concert's own subscriber still see strictly
// increasing versions per concert, and end on the latest of each.
func TestFanOutThroughTheQueueKeepsVersionsIncreasing(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, s.open(t), harnessOptions{concurrency: 4})
			star, own := h.dial(t), h.dial(t)
			star.subscribe("*")
			own.subscribe("c1")

			const latest = 15
			var deliveries []events.EventBridgeEvent
			for v := int64(1); v <= latest; v++ {
				for _, concert := range []string{"c1", "c2"} {
					deliveries = append(deliveries, viewEvent(concert, v, "Owls"), viewEvent(concert, v, "Owls"))
				}
			}
			rand.New(rand.NewPCG(3, 4)).Shuffle(len(deliveries), func(i, j int) {
				deliveries[i], deliveries[j] = deliveries[j], deliveries[i]
			})
			handler := queueconsumer.New(h.fanOut(), slog.New(slog.DiscardHandler))
			var mu sync.Mutex
			queue := deliveries
			take := func(failed []events.EventBridgeEvent) []events.EventBridgeEvent {
				mu.Lock()
				defer mu.Unlock()
				queue = append(queue, failed...) // received again after the visibility timeout
				n := min(10, len(queue))
				batch := queue[:n:n]
				queue = queue[n:]
				return batch
			}
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var failed []events.EventBridgeEvent
					for rounds := 0; rounds < 1000; rounds++ {
						evs := take(failed)
						if len(evs) == 0 {
							return
						}
						var batch events.SQSEvent
						for i, ev := range evs {
							body, err := json.Marshal(ev)
							if err != nil {
								t.Error(err)
								return
							}
							batch.Records = append(batch.Records, events.SQSMessage{MessageId: strconv.Itoa(i), Body: string(body)})
						}
						resp, err := handler(ctx, batch)
						if err != nil {
							t.Error(err)
							return
						}
						failed = failed[:0]
						for _, f := range resp.BatchItemFailures {
							i, _ := strconv.Atoi(f.ItemIdentifier)
							failed = append(failed, evs[i])
						}
					}
					t.Error("deliveries keep failing")
				}()
			}
			wg.Wait()

			for name, c := range map[string]*client{"*": star, "c1": own} {
				want := map[string]bool{"c1": true} // the concerts it gets
				if name == "*" {
					want["c2"] = true
				}
				got := map[string][]int64{}
				for done := 0; done < len(want); {
					concert, v := decodeUpdate(t, c.next())
					got[concert] = append(got[concert], v)
					if v == latest {
						done++
					}
				}
				for concert, vs := range got {
					require.True(t, want[concert], "subscriber of %s got %s", name, concert)
					for j := 1; j < len(vs); j++ {
						require.Greater(t, vs[j], vs[j-1], "subscriber of %s got %s versions %v, want strictly increasing", name, concert, vs)
					}
				}
				c.expectNothingPending()
			}
		})
	}
}
