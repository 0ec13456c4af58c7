package backoff_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/backoff"
)

func TestDelay(t *testing.T) {
	upper := func(n int64) int64 { return n - 1 } // the largest value randN may return
	lower := func(int64) int64 { return 0 }
	tests := []struct {
		name   string
		policy backoff.Policy
		n      int
		want   time.Duration
	}{
		{"equal jitter, first attempt, high", backoff.Policy{Base: 100 * time.Millisecond, Max: time.Second, RandN: upper}, 1, 100 * time.Millisecond},
		{"equal jitter, first attempt, low", backoff.Policy{Base: 100 * time.Millisecond, Max: time.Second, RandN: lower}, 1, 50 * time.Millisecond},
		{"doubles per attempt", backoff.Policy{Base: 100 * time.Millisecond, Max: time.Second, RandN: upper}, 3, 400 * time.Millisecond},
		{"capped at Max", backoff.Policy{Base: 100 * time.Millisecond, Max: time.Second, RandN: upper}, 20, time.Second},
		{"no ceiling stays finite", backoff.Policy{Base: time.Millisecond, RandN: upper}, 1000, time.Millisecond << 30},
		{"full jitter, high", backoff.Policy{Base: 10 * time.Millisecond, Max: time.Second, Jitter: backoff.Full, RandN: upper}, 2, 20 * time.Millisecond},
		{"full jitter, low is never zero", backoff.Policy{Base: 10 * time.Millisecond, Max: time.Second, Jitter: backoff.Full, RandN: lower}, 2, 1},
		{"zero policy waits nothing", backoff.Policy{}, 5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.Delay(tc.n)
			require.Equal(t, tc.want, got, "got %s, want %s", got, tc.want)
		})
	}
}

func TestRetry(t *testing.T) {
	errRetry, errFatal := errors.New("retry"), errors.New("fatal")
	retryable := func(err error) bool { return errors.Is(err, errRetry) }
	tests := []struct {
		name      string
		attempts  int
		results   []error
		wantCalls int
		wantErr   error
	}{
		{"first call succeeds", 3, []error{nil}, 1, nil},
		{"succeeds after retries", 3, []error{errRetry, errRetry, nil}, 3, nil},
		{"gives up after attempts", 3, []error{errRetry, errRetry, errRetry, nil}, 3, errRetry},
		{"stops on a fatal error", 3, []error{errRetry, errFatal, nil}, 2, errFatal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := backoff.Policy{Base: time.Microsecond}.Retry(context.Background(), tc.attempts, retryable, func(context.Context) error {
				calls++
				return tc.results[calls-1]
			})
			require.ErrorIs(t, err, tc.wantErr)
			if tc.wantErr == nil {
				require.NoError(t, err)
			}
			require.Equal(t, tc.wantCalls, calls, "got %d calls, want %d", calls, tc.wantCalls)
		})
	}
	t.Run("context ends during a wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		err := backoff.Policy{Base: time.Hour}.Retry(ctx, 3, retryable, func(context.Context) error {
			cancel()
			return errRetry
		})
		require.ErrorIs(t, err, context.Canceled)
	})
}
