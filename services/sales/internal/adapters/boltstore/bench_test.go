package boltstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/concertsys/services/sales/internal/adapters/boltstore"
	"github.com/concertsys/services/sales/internal/domain"
)

// BenchmarkRecord records new events from 16 concurrent deliveries (the bus runs many
// per rule), each durable (fsync) before it returns; duplicates are the cheap path.
func BenchmarkRecord(b *testing.B) {
	for _, dup := range []bool{false, true} {
		b.Run(fmt.Sprintf("duplicate=%v", dup), func(b *testing.B) {
			st, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			h0 := time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					v := n.Add(1)
					if dup {
						v = 1
					}
					e := domain.Entry{AggregateID: fmt.Sprintf("c%d", v%64), Version: v, Hour: h0.Add(time.Duration(v%48) * time.Hour),
						Measurement: domain.Measurement{Amount: 2, Events: 1}}
					if _, err := st.Record(context.Background(), e); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
