package bus

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/faults"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		spec  faults.Spec
		puts  int
		check func(t *testing.T, rec *recorder, results []PutResult, in *faults.Injector)
	}{
		{name: "put: entries answered as failed, nothing of them delivered", spec: faults.Spec{Put: 0.5, Seed: 1}, puts: 200,
			check: func(t *testing.T, rec *recorder, results []PutResult, in *faults.Injector) {
				var accepted []string
				failed := 0
				for _, r := range results {
					if !r.Failed() {
						accepted = append(accepted, r.EventID)
						continue
					}
					failed++
					require.Contains(t, []string{"InternalFailure", "ThrottlingException"}, r.ErrorCode)
					require.Empty(t, r.EventID)
				}
				require.Equal(t, uint64(failed), in.Counts()[faults.Put], "counted: got %d want %d", in.Counts()[faults.Put], failed)
				require.Positive(t, failed)
				require.Positive(t, len(accepted))
				waitFor(t, "accepted entries delivered", func() bool { return rec.has(accepted...) })
				require.Equal(t, len(accepted), rec.distinct(), "only accepted entries are delivered")
			}},
		{name: "dup: every event delivered twice", spec: faults.Spec{Dup: 1}, puts: 20,
			check: func(t *testing.T, rec *recorder, results []PutResult, in *faults.Injector) {
				waitFor(t, "two deliveries each", func() bool {
					rec.mu.Lock()
					defer rec.mu.Unlock()
					for _, r := range results {
						if rec.seen[r.EventID] != 2 {
							return false
						}
					}
					return true
				})
				require.Equal(t, uint64(20), in.Counts()[faults.Dup])
			}},
		{name: "delay: every event still delivered", spec: faults.Spec{Delay: 20 * time.Millisecond}, puts: 50,
			check: func(t *testing.T, rec *recorder, results []PutResult, in *faults.Injector) {
				var ids []string
				for _, r := range results {
					ids = append(ids, r.EventID)
				}
				waitFor(t, "delayed deliveries", func() bool { return rec.has(ids...) })
				require.Positive(t, in.Counts()[faults.Delay])
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := faults.New(tt.spec)
			opts := fastOptions("")
			opts.Faults = in
			b := newBus(t, opts)
			rec := newRecorder()
			require.NoError(t, b.Subscribe(sub("all", `{"source":["concerts"]}`), rec.target))
			var results []PutResult
			for range tt.puts {
				res, err := b.Put(context.Background(), []Entry{entry("concerts", "TicketsSold", `{"n":1}`)})
				require.NoError(t, err)
				results = append(results, res...)
			}
			tt.check(t, rec, results, in)
		})
	}
}
