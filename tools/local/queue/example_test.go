package queue_test

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/concertsys/tools/local/queue"
)

// A queue with a redrive policy: a message received twice without being deleted
// moves to the dead-letter queue on the next receive.
func Example() {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	b, _ := queue.Open(queue.Options{Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	defer b.Close()
	dlq, _ := b.CreateQueue(queue.Config{Name: "work-dlq"})
	q, _ := b.CreateQueue(queue.Config{Name: "work", VisibilityTimeout: time.Minute, DeadLetter: "work-dlq", MaxReceiveCount: 2})
	_, _ = q.Send(`{"job":1}`)
	for range 3 {
		got, _ := q.Receive(10, 0)
		for _, m := range got {
			fmt.Println("received", m.Body, "count", m.ReceiveCount)
		}
		now = now.Add(time.Minute) // not deleted: visible again after the timeout
	}
	fmt.Println("dead letters:", len(dlq.Messages()))
	// Output:
	// received {"job":1} count 1
	// received {"job":1} count 2
	// dead letters: 1
}
