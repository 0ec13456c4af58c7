package concerts_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/tools/local/boltlog"

	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/concerts/embedded"
)

// BenchmarkColdCommand times one ticket sale by a process that has never loaded the
// concert (a restarted devstack, a cold Lambda), on devstack's bbolt stores, for a
// concert with 1 event and one with 20,000; "no-snapshots" is the same without a
// snapshot store (how it was before). Each op builds the service afresh, so its cache
// is empty. make bench reads cold-ms.
func BenchmarkColdCommand(b *testing.B) {
	for _, tc := range []struct {
		name      string
		history   int
		snapshots bool
	}{
		{"events=1", 1, true},
		{"events=20000", longHistory, true},
		{"no-snapshots/events=1", 1, false},
		{"no-snapshots/events=20000", longHistory, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			log, err := boltlog.Open(filepath.Join(dir, "events.db"))
			require.NoError(b, err)
			defer log.Close()
			idem, err := embedded.OpenIdempotency(filepath.Join(dir, "idempotency.db"))
			require.NoError(b, err)
			defer idem.Close()
			var snaps eventlog.SnapshotStore
			if tc.snapshots {
				s, err := boltlog.OpenSnapshots(filepath.Join(dir, "snapshots.db"))
				require.NoError(b, err)
				defer s.Close()
				snaps = s
			}
			newService := func() routes {
				svc, err := concerts.New(context.Background(), concerts.Deps{Log: log, Idempotency: idem, Snapshots: snaps})
				require.NoError(b, err)
				out := routes{}
				for _, r := range svc.HTTPRoutes {
					out[r.RouteKey] = r.Handler
				}
				return out
			}
			// A concert per op for the 1-event case (its history would grow otherwise);
			// one stadium, snapshotted by a first command, for the long one.
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = "stadium"
				if tc.history == 1 {
					ids[i] = fmt.Sprintf("new-%d", i)
				}
			}
			if tc.history == 1 {
				for _, id := range ids {
					seedHistory(b, log, id, 1)
				}
			} else {
				seedHistory(b, log, "stadium", tc.history)
				sell(b, newService(), "stadium")
			}
			b.ResetTimer()
			for _, id := range ids {
				sell(b, newService(), id)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "cold-ms")
		})
	}
}

func sell(tb testing.TB, svc routes, id string) {
	resp, err := svc["POST /concerts/{id}/tickets"](context.Background(), events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /concerts/{id}/tickets", Body: `{"quantity":1}`,
		Headers: map[string]string{"content-type": "application/json"}, PathParameters: map[string]string{"id": id},
	})
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("sell: %v %d %s", err, resp.StatusCode, resp.Body)
	}
}
