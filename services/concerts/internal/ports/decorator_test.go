package ports_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/boltlog"

	"github.com/concertsys/services/concerts/internal/adapters/boltidempotency"
	"github.com/concertsys/services/concerts/internal/app"
	"github.com/concertsys/services/concerts/internal/ports"
)

// newDecorator builds the idempotency decorator on a real boltlog and bbolt store.
func newDecorator(t *testing.T, now func() time.Time) (*ports.Idempotency, *boltidempotency.Store) {
	t.Helper()
	dir := t.TempDir()
	log, err := boltlog.Open(filepath.Join(dir, "log.db"))
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	idem, err := boltidempotency.Open(filepath.Join(dir, "idem.db"), base)
	require.NoError(t, err)
	t.Cleanup(func() { idem.Close() })
	var seq atomic.Int64
	newID := func() string { return fmt.Sprintf("id-%d", seq.Add(1)) }
	return ports.NewIdempotency(idem, app.NewFindCaused(log), now, newID, slog.New(slog.DiscardHandler)), idem
}

func keyed(key, body string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{Headers: map[string]string{"Idempotency-Key": key}, Body: body,
		PathParameters: map[string]string{"id": "c"}}
}

func TestIdempotentOutcomes(t *testing.T) {
	ok := events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{}, Body: `{"id":"c","version":2}`}
	fp := func(body string) string { return ports.Fingerprint(ports.RouteTickets, "c", nil, []byte(body)) }
	tests := []struct {
		name     string
		seed     *ports.IdempotencyRecord
		body     string
		runErr   error
		wantErr  error
		wantRuns int
		wantKept bool // the record exists afterwards
	}{
		{name: "first request", body: "f", wantRuns: 1, wantKept: true},
		{name: "failure releases", body: "f", runErr: errors.New("boom"), wantErr: errors.New("boom"), wantRuns: 1},
		{name: "completed replays", seed: &ports.IdempotencyRecord{Key: "k", Fingerprint: fp("f"), State: ports.Completed, Token: "t",
			ExpiresAt: base.Add(time.Hour), Response: ports.StoredResponse{Status: ok.StatusCode, Body: ok.Body}}, body: "f", wantKept: true},
		{name: "completed other request", seed: &ports.IdempotencyRecord{Key: "k", Fingerprint: fp("f"), State: ports.Completed, Token: "t",
			ExpiresAt: base.Add(time.Hour)}, body: "g", wantErr: ports.ErrKeyReused, wantKept: true},
		{name: "in progress", seed: &ports.IdempotencyRecord{Key: "k", Fingerprint: fp("f"), State: ports.InProgress, Token: "t",
			LeaseUntil: base.Add(time.Minute), ExpiresAt: base.Add(time.Hour)}, body: "f", wantErr: ports.ErrInProgress, wantKept: true},
		{name: "in progress other request", seed: &ports.IdempotencyRecord{Key: "k", Fingerprint: fp("f"), State: ports.InProgress, Token: "t",
			LeaseUntil: base.Add(time.Minute), ExpiresAt: base.Add(time.Hour)}, body: "g", wantErr: ports.ErrKeyReused, wantKept: true},
		{name: "abandoned claim with no events runs", seed: &ports.IdempotencyRecord{Key: "k", Fingerprint: fp("f"), AggregateID: "c", State: ports.InProgress, Token: "t",
			ClaimedAt: base.Add(-time.Hour), LeaseUntil: base.Add(-time.Minute), ExpiresAt: base.Add(time.Hour)}, body: "f", wantRuns: 1, wantKept: true},
		{name: "retention over is a new request", seed: &ports.IdempotencyRecord{Key: "k", Fingerprint: "old", State: ports.Completed, Token: "t",
			ExpiresAt: base.Add(-time.Second)}, body: "f", wantRuns: 1, wantKept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, idem := newDecorator(t, func() time.Time { return base })
			if tt.seed != nil {
				require.NoError(t, idem.Create(context.Background(), *tt.seed))
			}
			runs := 0
			resp, err := d.WrapRun(ports.RouteTickets, "c", func(context.Context, string) (events.APIGatewayV2HTTPResponse, error) {
				runs++
				return ok, tt.runErr
			})(context.Background(), keyed("k", tt.body))
			require.Equal(t, tt.wantRuns, runs, "got %d runs want %d", runs, tt.wantRuns)
			_, gerr := idem.Get(context.Background(), "k")
			if tt.wantKept {
				require.NoError(t, gerr)
			} else {
				require.ErrorIs(t, gerr, ports.ErrRecordNotFound)
			}
			if tt.wantErr != nil {
				require.Error(t, err)
				if errors.Is(tt.wantErr, ports.ErrKeyReused) || errors.Is(tt.wantErr, ports.ErrInProgress) {
					require.ErrorIs(t, err, tt.wantErr)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, ok, resp)
		})
	}
}

// TestTakeoverHasOneWinner: many retries of a request whose process died race to
// take over its claim; exactly one runs it.
func TestTakeoverHasOneWinner(t *testing.T) {
	d, idem := newDecorator(t, func() time.Time { return base })
	require.NoError(t, idem.Create(context.Background(), ports.IdempotencyRecord{Key: "k",
		Fingerprint: ports.Fingerprint(ports.RouteTickets, "c", nil, []byte("f")), AggregateID: "c", State: ports.InProgress,
		Token: "dead", ClaimedAt: base.Add(-time.Hour), LeaseUntil: base.Add(-time.Minute), ExpiresAt: base.Add(time.Hour)}))
	var runs atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 8)
	handler := d.WrapRun(ports.RouteTickets, "c", func(context.Context, string) (events.APIGatewayV2HTTPResponse, error) {
		runs.Add(1)
		time.Sleep(20 * time.Millisecond)
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = handler(context.Background(), keyed("k", "f"))
		}()
	}
	wg.Wait()
	require.Equal(t, int64(1), runs.Load())
	for _, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, ports.ErrInProgress)
		}
	}
}

// TestCancelledRequestReleasesItsKey: a request whose context is cancelled while it
// runs still releases its claim, so the client's retry is not blocked for the lease.
func TestCancelledRequestReleasesItsKey(t *testing.T) {
	d, idem := newDecorator(t, func() time.Time { return base })
	ctx, cancel := context.WithCancel(context.Background())
	_, err := d.WrapRun(ports.RouteTickets, "c", func(ctx context.Context, _ string) (events.APIGatewayV2HTTPResponse, error) {
		cancel()
		return events.APIGatewayV2HTTPResponse{}, ctx.Err()
	})(ctx, keyed("k", "f"))
	require.ErrorIs(t, err, context.Canceled)
	_, err = idem.Get(context.Background(), "k")
	require.ErrorIs(t, err, ports.ErrRecordNotFound, "the cancelled request released its key")
}
