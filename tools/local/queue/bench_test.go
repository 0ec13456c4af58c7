package queue

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchBody is an EventBridge event of the size devstack's queues carry.
var benchBody = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"TicketsSold","source":"concerts","account":"000000000000","time":"2026-12-06T12:00:00Z","region":"us-east-1","resources":[],"detail":{"data":{"concertId":"c-42","orderId":"o-1234567","seats":["A1","A2","A3"],"buyer":"someone@example.com","total":{"amount":"129.00","currency":"EUR"}},"metadata":{"stream":"concert#c-42","version":17,"correlationId":"` + strings.Repeat("x", 36) + `"}}}`

// lastTxID is the id of the file's last committed write transaction: the difference
// across a run counts commits (each one two fdatasyncs: pages, then meta).
func lastTxID(b *testing.B, db *bolt.DB) int {
	var id int
	if err := db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		b.Fatal(err)
	}
	return id
}

func benchBroker(b *testing.B) (*Broker, *Queue, *bolt.DB) {
	br, err := Open(Options{Path: filepath.Join(b.TempDir(), "q.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close() })
	q, err := br.CreateQueue(Config{Name: "q", MaxMessages: 10_000_000})
	if err != nil {
		b.Fatal(err)
	}
	return br, q, br.store.(*boltStore).db
}

// pwrites counts bbolt's write calls (page runs and meta pages).
func pwrites(db *bolt.DB) int64 {
	st := db.Stats()
	return st.TxStats.GetWrite()
}

// pageBytes counts the bytes of the pages bbolt allocated for commits (what it writes).
func pageBytes(db *bolt.DB) int64 {
	st := db.Stats()
	return st.TxStats.GetPageAlloc()
}

func reportStore(b *testing.B, db *bolt.DB, tx0 int, w0, p0 int64) {
	time.Sleep(200 * time.Millisecond) // removals the store defers are committed too
	commits := float64(lastTxID(b, db) - tx0)
	b.ReportMetric(commits/float64(b.N), "commits/op")
	b.ReportMetric(2*commits/float64(b.N), "fsyncs/op")
	b.ReportMetric(float64(pwrites(db)-w0)/float64(b.N), "pwrites/op")
	b.ReportMetric(float64(pageBytes(db)-p0)/float64(b.N), "pageB/op")
}

// BenchmarkDurable sends, receives and deletes b.N messages through a bbolt-backed
// broker: one at a time (a lone message's latency), and with concurrent senders and
// event-source-mapping-like pollers (batches of 10, DeleteBatch).
func BenchmarkDurable(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		_, q, db := benchBroker(b)
		tx0, w0, p0 := lastTxID(b, db), pwrites(db), pageBytes(db)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := q.Send(benchBody); err != nil {
				b.Fatal(err)
			}
			got, err := q.Receive(1, 0)
			if err != nil || len(got) != 1 {
				b.Fatalf("receive: got %d, %v", len(got), err)
			}
			if err := q.Delete(got[0].ReceiptHandle); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportStore(b, db, tx0, w0, p0)
	})
	// One message at a time through a poller, as a quiet devstack sees them: the
	// sender waits until the poller deleted the previous message, and a while more.
	b.Run("paced", func(b *testing.B) {
		_, q, db := benchBroker(b)
		tx0, w0, p0 := lastTxID(b, db), pwrites(db), pageBytes(db)
		b.ReportAllocs()
		b.ResetTimer()
		deleted := make(chan struct{})
		stop := make(chan struct{})
		go func() {
			for {
				got, err := q.ReceiveWait(stop, MaxReceiveBatch, 0, 50*time.Millisecond)
				if err != nil || len(got) == 0 {
					select {
					case <-stop:
						return
					default:
						continue
					}
				}
				for _, r := range got {
					if err := q.Delete(r.ReceiptHandle); err != nil {
						b.Error(err)
					}
					deleted <- struct{}{}
				}
			}
		}()
		for range b.N {
			if _, err := q.Send(benchBody); err != nil {
				b.Fatal(err)
			}
			<-deleted
			time.Sleep(time.Millisecond)
		}
		close(stop)
		b.StopTimer()
		reportStore(b, db, tx0, w0, p0)
	})
	for _, c := range []struct {
		senders, pollers int
		backlog          bool
	}{{8, 8, false}, {16, 64, false}, {0, 64, true}} {
		name := fmt.Sprintf("senders=%d/pollers=%d", c.senders, c.pollers)
		if c.backlog {
			name = fmt.Sprintf("backlog/pollers=%d", c.pollers)
		}
		b.Run(name, func(b *testing.B) {
			_, q, db := benchBroker(b)
			if c.backlog { // b.N messages wait before the pollers start
				batch := make([]string, MaxReceiveBatch)
				for i := range batch {
					batch[i] = benchBody
				}
				for n := 0; n < b.N; n += len(batch) {
					if _, err := q.SendBatch(batch[:min(len(batch), b.N-n)]); err != nil {
						b.Fatal(err)
					}
				}
			}
			tx0, w0, p0 := lastTxID(b, db), pwrites(db), pageBytes(db)
			b.ReportAllocs()
			b.ResetTimer()
			var sent, done atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range c.senders {
				wg.Go(func() {
					for sent.Add(1) <= int64(b.N) {
						if _, err := q.Send(benchBody); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			var pw sync.WaitGroup
			for range c.pollers {
				pw.Go(func() {
					for {
						got, err := q.ReceiveWait(stop, MaxReceiveBatch, 0, 50*time.Millisecond)
						if err != nil {
							b.Error(err)
							return
						}
						if len(got) == 0 {
							select {
							case <-stop:
								return
							default:
								continue
							}
						}
						hs := make([]string, len(got))
						for i, r := range got {
							hs[i] = r.ReceiptHandle
						}
						for _, err := range q.DeleteBatch(hs) {
							if err != nil {
								b.Error(err)
							}
						}
						if done.Add(int64(len(got))) >= int64(b.N) {
							return
						}
					}
				})
			}
			wg.Wait()
			for done.Load() < int64(b.N) && !b.Failed() {
				time.Sleep(time.Millisecond)
			}
			close(stop)
			pw.Wait()
			b.StopTimer()
			reportStore(b, db, tx0, w0, p0)
		})
	}
}

// BenchmarkRecord compares the store's record format with the JSON it replaced (the
// Message as a JSON document, the body escaped inside it).
func BenchmarkRecord(b *testing.B) {
	m := &Message{ID: newID(), Body: benchBody, Seq: 42, SentAt: time.Now().UTC(), ReceiveCount: 1,
		FirstReceivedAt: time.Now().UTC(), TraceHeader: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			v, err := json.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			var got Message
			if err := json.Unmarshal(v, &got); err != nil {
				b.Fatal(err)
			}
			n = len(v)
		}
		b.ReportMetric(float64(n), "bytes/record")
	})
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for b.Loop() {
			v := encodeMessage(nil, m)
			if _, err := decodeMessage(v); err != nil {
				b.Fatal(err)
			}
			n = len(v)
		}
		b.ReportMetric(float64(n), "bytes/record")
	})
}
