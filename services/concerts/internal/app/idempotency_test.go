package app_test

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

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/boltlog"

	"github.com/concertsys/services/concerts/internal/adapters/boltidempotency"
	"github.com/concertsys/services/concerts/internal/app"
)

var base = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newApp(t *testing.T, now func() time.Time) (*app.App, *boltidempotency.Store) {
	t.Helper()
	dir := t.TempDir()
	log, err := boltlog.Open(filepath.Join(dir, "log.db"))
	require.NoError(t, err)
	t.Cleanup(func() { log.Close() })
	idem, err := boltidempotency.Open(filepath.Join(dir, "idem.db"), base)
	require.NoError(t, err)
	t.Cleanup(func() { idem.Close() })
	var seq atomic.Int64
	a, err := app.New(app.Config{Log: log, Idempotency: idem, Now: now, NewID: func() string { return fmt.Sprintf("id-%d", seq.Add(1)) },
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return a, idem
}

func TestNewRequiresPorts(t *testing.T) {
	_, err := app.New(app.Config{})
	require.Error(t, err)
}

func TestIdempotentOutcomes(t *testing.T) {
	ok := app.StoredResponse{Status: 200, Body: `{"id":"c","version":2}`}
	rebuild := func(string, int64) app.StoredResponse { t.Fatal("nothing to rebuild"); return app.StoredResponse{} }
	tests := []struct {
		name     string
		seed     *app.IdempotencyRecord
		req      app.IdempotentRequest
		runErr   error
		wantErr  error
		wantRuns int
		wantKept bool // the record exists afterwards
		replayed bool
	}{
		{name: "first request", req: app.IdempotentRequest{Key: "k", Fingerprint: "f"}, wantRuns: 1, wantKept: true},
		{name: "failure releases", req: app.IdempotentRequest{Key: "k", Fingerprint: "f"}, runErr: errors.New("boom"), wantErr: errors.New("boom"), wantRuns: 1},
		{name: "completed replays", seed: &app.IdempotencyRecord{Key: "k", Fingerprint: "f", State: app.Completed, Token: "t",
			ExpiresAt: base.Add(time.Hour), Response: ok}, req: app.IdempotentRequest{Key: "k", Fingerprint: "f"}, wantKept: true, replayed: true},
		{name: "completed other request", seed: &app.IdempotencyRecord{Key: "k", Fingerprint: "f", State: app.Completed, Token: "t",
			ExpiresAt: base.Add(time.Hour)}, req: app.IdempotentRequest{Key: "k", Fingerprint: "g"}, wantErr: app.ErrKeyReused, wantKept: true},
		{name: "in progress", seed: &app.IdempotencyRecord{Key: "k", Fingerprint: "f", State: app.InProgress, Token: "t",
			LeaseUntil: base.Add(time.Minute), ExpiresAt: base.Add(time.Hour)}, req: app.IdempotentRequest{Key: "k", Fingerprint: "f"}, wantErr: app.ErrInProgress, wantKept: true},
		{name: "in progress other request", seed: &app.IdempotencyRecord{Key: "k", Fingerprint: "f", State: app.InProgress, Token: "t",
			LeaseUntil: base.Add(time.Minute), ExpiresAt: base.Add(time.Hour)}, req: app.IdempotentRequest{Key: "k", Fingerprint: "g"}, wantErr: app.ErrKeyReused, wantKept: true},
		{name: "abandoned claim with no events runs", seed: &app.IdempotencyRecord{Key: "k", Fingerprint: "f", AggregateID: "c", State: app.InProgress, Token: "t",
			ClaimedAt: base.Add(-time.Hour), LeaseUntil: base.Add(-time.Minute), ExpiresAt: base.Add(time.Hour)}, req: app.IdempotentRequest{Key: "k", Fingerprint: "f"}, wantRuns: 1, wantKept: true},
		{name: "retention over is a new request", seed: &app.IdempotencyRecord{Key: "k", Fingerprint: "old", State: app.Completed, Token: "t",
			ExpiresAt: base.Add(-time.Second)}, req: app.IdempotentRequest{Key: "k", Fingerprint: "f"}, wantRuns: 1, wantKept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, idem := newApp(t, func() time.Time { return base })
			if tt.seed != nil {
				require.NoError(t, idem.Create(context.Background(), *tt.seed))
			}
			runs := 0
			resp, replayed, err := a.Idempotent(context.Background(), tt.req, func(context.Context, string) (app.StoredResponse, error) {
				runs++
				return ok, tt.runErr
			}, rebuild)
			require.Equal(t, tt.wantRuns, runs, "got %d runs want %d", runs, tt.wantRuns)
			require.Equal(t, tt.replayed, replayed)
			_, gerr := idem.Get(context.Background(), "k")
			if tt.wantKept {
				require.NoError(t, gerr)
			} else {
				require.ErrorIs(t, gerr, app.ErrRecordNotFound)
			}
			if tt.wantErr != nil {
				require.Error(t, err)
				if errors.Is(tt.wantErr, app.ErrKeyReused) || errors.Is(tt.wantErr, app.ErrInProgress) {
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
	a, idem := newApp(t, func() time.Time { return base })
	require.NoError(t, idem.Create(context.Background(), app.IdempotencyRecord{Key: "k", Fingerprint: "f", AggregateID: "c", State: app.InProgress,
		Token: "dead", ClaimedAt: base.Add(-time.Hour), LeaseUntil: base.Add(-time.Minute), ExpiresAt: base.Add(time.Hour)}))
	var runs atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = a.Idempotent(context.Background(), app.IdempotentRequest{Key: "k", Fingerprint: "f"},
				func(context.Context, string) (app.StoredResponse, error) {
					runs.Add(1)
					time.Sleep(20 * time.Millisecond)
					return app.StoredResponse{Status: 200}, nil
				}, func(string, int64) app.StoredResponse { return app.StoredResponse{} })
		}()
	}
	wg.Wait()
	require.Equal(t, int64(1), runs.Load())
	for _, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, app.ErrInProgress)
		}
	}
}
