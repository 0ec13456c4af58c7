package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/concertsys/platform/subscription"
)

// BenchmarkPutAndDeliver measures Put plus asynchronous delivery: the clock stops only
// when every event put has reached every target it matched. With bbolt it reports the
// store's group commits, page bytes and page writes per event (bbolt's TxStats).
// "devstack" is devstack's shape: three rules matching concert events and an archive
// of every event.
func BenchmarkPutAndDeliver(b *testing.B) {
	detail := json.RawMessage(`{"metadata":{"eventId":"0c4f1b8e-7d2a-4a51-9a55-1f0e7c3b9d21","aggregateId":"c-1","aggregateVersion":3,"eventType":"TicketsSold","occurredAt":"2026-12-06T15:00:00.123456Z","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},"data":{"quantity":2,"buyer":"b-123","orderId":"o-42"}}`)
	type variant struct {
		name     string
		batch    int
		rules    int
		archived bool
		serial   bool // one producer: every Put commits alone
		raw      bool // raw targets, as devstack's queue targets
	}
	variants := []variant{
		{"batch=1", 1, 1, false, false, false},
		{"batch=10", 10, 1, false, false, false},
		{"batch=1/archived", 1, 1, true, false, false},
		{"devstack", 1, 3, true, false, true},
		{"devstack/serial", 1, 3, true, true, true},
	}
	for _, store := range []string{"memory", "bbolt"} {
		for _, v := range variants {
			b.Run(store+"/"+v.name, func(b *testing.B) {
				opts := Options{}
				if store == "bbolt" {
					opts.DataDir = b.TempDir()
				}
				bus, err := New(opts)
				if err != nil {
					b.Fatal(err)
				}
				defer bus.Close(context.Background())
				if v.archived { // devstack's archive of every event
					if _, err := bus.CreateArchive(ArchiveConfig{Name: "all"}); err != nil {
						b.Fatal(err)
					}
				}
				var delivered atomic.Int64
				for i := range v.rules {
					s := subscription.Subscription{Name: fmt.Sprintf("bench-%d", i), Pattern: json.RawMessage(`{"source":["concerts"],"detail":{"data":{"quantity":[{"numeric":[">",0]}]}}}`)}
					if v.raw {
						err = bus.SubscribeRaw(s, func(context.Context, []byte) error { delivered.Add(1); return nil }, "")
					} else {
						err = bus.Subscribe(s, func(context.Context, events.EventBridgeEvent) error { delivered.Add(1); return nil })
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				entries := make([]Entry, v.batch)
				for i := range entries {
					entries[i] = Entry{Source: "concerts", DetailType: "TicketsSold", Detail: detail}
				}
				before := storeCounters(bus)
				b.ReportAllocs()
				b.ResetTimer()
				var puts atomic.Int64
				if v.serial {
					for range b.N {
						if _, err := bus.Put(context.Background(), entries); err != nil {
							b.Fatal(err)
						}
						puts.Add(1)
					}
				} else {
					b.SetParallelism(4) // several producers, as in devstack (pipe + services)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if _, err := bus.Put(context.Background(), entries); err != nil {
								b.Error(err)
								return
							}
							puts.Add(1)
						}
					})
				}
				events := puts.Load() * int64(v.batch)
				want := events * int64(v.rules)
				for delivered.Load() < want {
					time.Sleep(100 * time.Microsecond)
				}
				b.StopTimer()
				b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
				if store == "bbolt" {
					// Let the asynchronous removals of the last deliveries commit too.
					time.Sleep(20 * time.Millisecond)
					after := storeCounters(bus)
					n := float64(events)
					b.ReportMetric(float64(after.commits-before.commits)/n, "commits/event")
					b.ReportMetric(float64(after.pageBytes-before.pageBytes)/n, "pageB/event")
					b.ReportMetric(float64(after.writes-before.writes)/n, "writes/event")
				}
			})
		}
	}
}

type counters struct{ commits, pageBytes, writes int64 }

func storeCounters(b *Bus) counters {
	s, ok := b.store.(*boltStore)
	if !ok {
		return counters{}
	}
	st := s.db.Stats().TxStats
	return counters{commits: int64(s.commits.Load()), pageBytes: st.GetPageAlloc(), writes: st.GetWrite()}
}

// BenchmarkEncodeEvent compares Put's encoding of an accepted entry: validating the
// detail and then json.Marshal of the envelope (before), against encodeEvent.
func BenchmarkEncodeEvent(b *testing.B) {
	detail := json.RawMessage(`{"metadata":{"eventId":"0c4f1b8e-7d2a-4a51-9a55-1f0e7c3b9d21","aggregateId":"c-1","aggregateVersion":3,"eventType":"TicketsSold","occurredAt":"2026-12-06T15:00:00.123456Z","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},"data":{"quantity":2,"buyer":"b-123","orderId":"o-42"}}`)
	bus := &Bus{opts: Options{Account: defaultAccount, Region: defaultRegion}}
	e := Entry{Source: "concerts", DetailType: "TicketsSold", Detail: detail}
	now := time.Now()
	b.Run("validate+json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if code, _ := ValidateEntry(e); code != "" {
				b.Fatal(code)
			}
			ev := bus.envelope(e, now)
			ev.Detail = append(json.RawMessage(nil), ev.Detail...) // the copy Put made
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encodeEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if code, _ := validateFields(e); code != "" {
				b.Fatal(code)
			}
			ev := bus.envelope(e, now)
			if _, _, err := encodeEvent(&ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
