package notifications_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/notifications"
)

func TestDescribe(t *testing.T) {
	svc := notifications.Describe()
	require.Equal(t, "notifications", svc.Name)
	routes := map[string]string{}
	for _, r := range svc.WebSocketRoutes {
		require.Nil(t, r.Handler, "Describe has no handlers")
		routes[r.RouteKey] = r.Function
	}
	require.Equal(t, map[string]string{
		"$connect": "ws-connect", "$disconnect": "ws-disconnect", "subscribe": "ws-subscribe",
		"unsubscribe": "ws-unsubscribe", "$default": "ws-default",
	}, routes)
	require.Len(t, svc.Consumers, 1)
	c := svc.Consumers[0]
	require.Equal(t, "fan-out", c.Function)
	require.Equal(t, "notifications-view-updates", c.Subscription.Name)
	require.JSONEq(t, `{"source":["projections"],"detail-type":["ConcertViewUpdated"]}`, string(c.Subscription.Pattern))
}

func TestNewWiresEveryHandler(t *testing.T) {
	h := newHarness(t, stores[0].open(t), harnessOptions{})
	for _, r := range h.svc.WebSocketRoutes {
		require.NotNil(t, r.Handler, "route %s", r.RouteKey)
	}
	require.NotNil(t, h.svc.Consumers[0].Handler)
	_, err := notifications.New(context.Background(), notifications.Deps{})
	require.Error(t, err, "New without a store")
}

func TestWebSocketProtocol(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			h := newHarness(t, s.open(t), harnessOptions{})
			c := h.dial(t)
			steps := []struct {
				name string
				send string
				want map[string]any
			}{
				{"subscribe", `{"action":"subscribe","concertId":"c1"}`, map[string]any{"type": "subscribed", "concertId": "c1"}},
				{"subscribe again", `{"action":"subscribe","concertId":"c1"}`, map[string]any{"type": "subscribed", "concertId": "c1"}},
				{"subscribe to all", `{"action":"subscribe","concertId":"*"}`, map[string]any{"type": "subscribed", "concertId": "*"}},
				{"unsubscribe", `{"action":"unsubscribe","concertId":"*"}`, map[string]any{"type": "unsubscribed", "concertId": "*"}},
				{"unsubscribe absent", `{"action":"unsubscribe","concertId":"c9"}`, map[string]any{"type": "unsubscribed", "concertId": "c9"}},
				{"not JSON ($default)", `hello`, map[string]any{"type": "error", "message": "message is not valid JSON"}},
				{"unknown action ($default)", `{"action":"dance"}`, map[string]any{"type": "error", "message": `unknown action "dance": use subscribe or unsubscribe`}},
				{"missing concertId", `{"action":"subscribe"}`, map[string]any{"type": "error", "message": "concertId is required"}},
				{"bad concertId", `{"action":"subscribe","concertId":"a b"}`, map[string]any{"type": "error", "message": `concertId may only contain letters, digits, '.', '_', ':' and '-', or be "*"`}},
				{"unknown field", `{"action":"unsubscribe","concertId":"c1","x":1}`, map[string]any{"type": "error", "message": `unknown field "x"`}},
				{"still open after errors", `{"action":"unsubscribe","concertId":"c1"}`, map[string]any{"type": "unsubscribed", "concertId": "c1"}},
			}
			for _, st := range steps {
				c.send(st.send)
				got := c.next()
				require.Equal(t, st.want, got, "%s: got %v, want %v", st.name, got, st.want)
			}
			subs, err := h.store.Subscriptions(context.Background(), c.id, h.clock.Now())
			require.NoError(t, err)
			require.Empty(t, subs)
		})
	}
}

func TestDisconnectForgetsSubscriptions(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			h := newHarness(t, s.open(t), harnessOptions{})
			c := h.dial(t)
			c.subscribe("c1")
			c.subscribe("*")
			require.NoError(t, c.ws.CloseNow())
			require.Eventually(t, func() bool {
				a, err1 := h.store.Subscribers(context.Background(), "c1", h.clock.Now())
				b, err2 := h.store.Subscribers(context.Background(), "*", h.clock.Now())
				return err1 == nil && err2 == nil && len(a) == 0 && len(b) == 0
			}, 5*time.Second, 10*time.Millisecond)
		})
	}
}

func decodeUpdate(t *testing.T, m map[string]any) (concert string, version int64) {
	t.Helper()
	require.Equal(t, "concert.updated", m["type"], "message %v", m)
	return m["concertId"].(string), int64(m["version"].(float64))
}

func TestFanOut(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, s.open(t), harnessOptions{})
			one, all, both, other := h.dial(t), h.dial(t), h.dial(t), h.dial(t)
			one.subscribe("c1")
			all.subscribe("*")
			both.subscribe("c1")
			both.subscribe("*")
			other.subscribe("c2")
			fan := h.fanOut()

			require.NoError(t, fan(ctx, viewEvent("c1", 2, "Owls")))
			for _, c := range []*client{one, all, both} {
				m := c.next()
				concert, version := decodeUpdate(t, m)
				require.Equal(t, "c1", concert)
				require.Equal(t, int64(2), version)
				view := m["view"].(map[string]any)
				require.Equal(t, "Owls", view["artist"])
				require.Equal(t, float64(2), view["version"])
			}

			// A duplicate and an older version are not delivered again.
			require.NoError(t, fan(ctx, viewEvent("c1", 2, "Owls")))
			require.NoError(t, fan(ctx, viewEvent("c1", 1, "Owls")))
			require.NoError(t, fan(ctx, viewEvent("c1", 3, "Owls")))
			for _, c := range []*client{one, all, both} {
				_, version := decodeUpdate(t, c.next())
				require.Equal(t, int64(3), version, "after duplicate and older deliveries")
				c.expectNothingPending()
			}
			// Only "*" subscribers hear of another concert.
			require.NoError(t, fan(ctx, viewEvent("c2", 1, "Other")))
			for _, c := range []*client{all, both, other} {
				concert, _ := decodeUpdate(t, c.next())
				require.Equal(t, "c2", concert)
				c.expectNothingPending()
			}
			one.expectNothingPending()
		})
	}
}

func TestFanOutForgetsGoneConnections(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, s.open(t), harnessOptions{})
			live := h.dial(t)
			live.subscribe("c1")
			// A connection API Gateway no longer has, whose $disconnect never ran.
			now := h.clock.Now()
			require.NoError(t, h.store.PutConnection(ctx, notifications.Connection{ID: "ghost", ConnectedAt: now, ExpiresAt: now.Add(time.Hour)}))
			require.NoError(t, h.store.Subscribe(ctx, "ghost", "c1", now.Add(time.Hour)))
			require.NoError(t, h.store.Subscribe(ctx, "ghost", "*", now.Add(time.Hour)))

			require.NoError(t, h.fanOut()(ctx, viewEvent("c1", 1, "Owls")))
			_, v := decodeUpdate(t, live.next())
			require.Equal(t, int64(1), v)
			for _, topic := range []string{"c1", "*"} {
				subs, err := h.store.Subscribers(ctx, topic, h.clock.Now())
				require.NoError(t, err)
				require.NotContains(t, subs, "ghost", "subscribers of %s after GoneException", topic)
			}
		})
	}
}

func TestFanOutRetryDoesNotResend(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, s.open(t), harnessOptions{})
			ok1, failing, ok2 := h.dial(t), h.dial(t), h.dial(t)
			for _, c := range []*client{ok1, failing, ok2} {
				c.subscribe("c1")
			}
			h.setFail(failing.id, true)
			err := h.fanOut()(ctx, viewEvent("c1", 5, "Owls"))
			require.Error(t, err, "a failed post must make EventBridge retry")
			require.Contains(t, err.Error(), failing.id)
			for _, c := range []*client{ok1, ok2} {
				_, v := decodeUpdate(t, c.next())
				require.Equal(t, int64(5), v)
			}

			h.setFail(failing.id, false)
			require.NoError(t, h.fanOut()(ctx, viewEvent("c1", 5, "Owls")), "the retry")
			_, v := decodeUpdate(t, failing.next())
			require.Equal(t, int64(5), v)
			for _, c := range []*client{ok1, failing, ok2} {
				c.expectNothingPending()
			}
		})
	}
}

func TestFanOutKeepsOrderBehindAnInFlightDelivery(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, s.open(t), harnessOptions{})
			c := h.dial(t)
			c.subscribe("c1")
			// Another invocation claimed version 1 and is still posting it.
			now := h.clock.Now()
			claim, err := h.store.ClaimDelivery(ctx, notifications.Delivery{ConnectionID: c.id, ConcertID: "c1", Version: 1},
				now, now.Add(30*time.Second), now.Add(time.Hour))
			require.NoError(t, err)
			require.Equal(t, notifications.Claimed, claim.Outcome)

			err = h.fanOut()(ctx, viewEvent("c1", 2, "Owls"))
			require.Error(t, err, "version 2 must wait while version 1 is in flight")
			c.expectNothingPending()

			h.clock.Advance(31 * time.Second) // the other invocation died; its lease ends
			require.NoError(t, h.fanOut()(ctx, viewEvent("c1", 2, "Owls")))
			_, v := decodeUpdate(t, c.next())
			require.Equal(t, int64(2), v)
		})
	}
}

func TestFanOutOmitsAViewTooLargeForAMessage(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, stores[0].open(t), harnessOptions{})
	c := h.dial(t)
	c.subscribe("c1")
	require.NoError(t, h.fanOut()(ctx, viewEvent("c1", 1, strings.Repeat("x", 130*1024))))
	got := c.next()
	require.Equal(t, map[string]any{"type": "concert.updated", "concertId": "c1", "version": float64(1), "viewOmitted": true}, got)
}

func TestFanOutRejectsMalformedEvents(t *testing.T) {
	h := newHarness(t, stores[0].open(t), harnessOptions{})
	ev := viewEvent("c1", 1, "Owls")
	ev.Detail = json.RawMessage(`{"metadata":{},"data":{}}`)
	require.Error(t, h.fanOut()(context.Background(), ev), "a malformed detail goes back to the bus (and to dead letters)")
	other := viewEvent("c1", 1, "Owls")
	other.DetailType = "SomethingElse"
	require.NoError(t, h.fanOut()(context.Background(), other), "an event the rule should not have matched is dropped")
}

// EventBridge delivers at least once and in any order, possibly to concurrent
// invocations. Whatever the interleaving, every connection sees strictly increasing
// versions, no version twice, and ends on the latest.
func TestFanOutUnderDuplicateReorderedConcurrentDeliveries(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, s.open(t), harnessOptions{concurrency: 4})
			clients := []*client{h.dial(t), h.dial(t), h.dial(t)}
			clients[0].subscribe("c1")
			clients[1].subscribe("*")
			clients[2].subscribe("c1")
			clients[2].subscribe("*")

			const latest = 12
			var deliveries []int64
			for v := int64(1); v <= latest; v++ {
				deliveries = append(deliveries, v, v) // every event twice
			}
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(deliveries), func(i, j int) {
				deliveries[i], deliveries[j] = deliveries[j], deliveries[i]
			})
			work := make(chan int64)
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for v := range work {
						// Like EventBridge: redeliver until the handler succeeds.
						for attempt := 0; ; attempt++ {
							if err := h.fanOut()(ctx, viewEvent("c1", v, "Owls")); err == nil {
								break
							} else if attempt > 200 {
								t.Errorf("version %d still failing: %v", v, err)
								return
							}
							time.Sleep(time.Millisecond)
						}
					}
				}()
			}
			for _, v := range deliveries {
				work <- v
			}
			close(work)
			wg.Wait()

			for i, c := range clients {
				var got []int64
				for {
					_, v := decodeUpdate(t, c.next())
					got = append(got, v)
					if v == latest {
						break
					}
				}
				for j := 1; j < len(got); j++ {
					require.Greater(t, got[j], got[j-1], "client %d got versions %v, want strictly increasing", i, got)
				}
				c.expectNothingPending()
			}
		})
	}
}
