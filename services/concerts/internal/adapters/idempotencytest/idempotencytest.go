// Package idempotencytest is the conformance suite every ports.IdempotencyStore
// adapter must pass.
package idempotencytest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/concerts/internal/ports"
)

// Options describe what the server behind an adapter cannot be relied on for.
type Options struct {
	// NotAtomic leaves out the concurrency cases, for a test server whose conditional
	// writes are not atomic under concurrent requests (see dynamotest.Backend).
	NotAtomic bool
}

// Run runs the suite; open returns an empty store, once per test.
func Run(t *testing.T, opts Options, open func(t *testing.T) ports.IdempotencyStore) {
	t.Helper()
	tests := []struct {
		name   string
		run    func(t *testing.T, s ports.IdempotencyStore)
		atomic bool // needs atomic conditional writes (see Options.NotAtomic)
	}{
		{name: "get missing", run: testGetMissing},
		{name: "create then get", run: testCreateThenGet},
		{name: "create twice", run: testCreateTwice},
		{name: "replace holder", run: replaceCase("t1", nil)},
		{name: "replace other token", run: replaceCase("t9", ports.ErrTokenMismatch)},
		{name: "replace empty token", run: replaceCase("", ports.ErrTokenMismatch)},
		{name: "replace missing", run: testReplaceMissing},
		{name: "delete", run: testDelete},
		{name: "large unicode body", run: testLargeUnicodeBody},
		{name: "concurrent claims have one winner", run: testConcurrentClaims, atomic: true},
		{name: "concurrent takeovers have one winner", run: testConcurrentTakeovers, atomic: true},
	}
	for _, tc := range tests {
		if tc.atomic && opts.NotAtomic {
			continue
		}
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

var (
	ctx  = context.Background()
	base = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
)

func rec(key, token string) ports.IdempotencyRecord {
	return ports.IdempotencyRecord{
		Key: key, Fingerprint: "fp-" + key, AggregateID: "concert-1", State: ports.InProgress, Token: token,
		ClaimedAt: base, LeaseUntil: base.Add(2 * time.Minute), ExpiresAt: base.Add(24 * time.Hour),
	}
}

func completed(r ports.IdempotencyRecord, token string) ports.IdempotencyRecord {
	r.State, r.Token = ports.Completed, token
	r.Response = ports.StoredResponse{Status: 201, Body: `{"id":"concert-1","version":1}`,
		Headers: map[string]string{"Content-Type": "application/json", "ETag": `"1"`, "Location": "/concerts/concert-1"}}
	return r
}

func testGetMissing(t *testing.T, s ports.IdempotencyStore) {
	_, err := s.Get(ctx, "nope")
	require.ErrorIs(t, err, ports.ErrRecordNotFound)
}

func testCreateThenGet(t *testing.T, s ports.IdempotencyStore) {
	want := rec("k1", "t1")
	require.NoError(t, s.Create(ctx, want))
	got, err := s.Get(ctx, "k1")
	require.NoError(t, err)
	requireSame(t, want, got)
}

func testCreateTwice(t *testing.T, s ports.IdempotencyStore) {
	require.NoError(t, s.Create(ctx, rec("k1", "t1")))
	err := s.Create(ctx, rec("k1", "t2"))
	require.ErrorIs(t, err, ports.ErrRecordExists)
	got, err := s.Get(ctx, "k1")
	require.NoError(t, err)
	require.Equal(t, "t1", got.Token, "got token %q want the first claim's", got.Token)
}

// replaceCase completes a claim held by t1, replacing with token.
func replaceCase(token string, wantErr error) func(t *testing.T, s ports.IdempotencyStore) {
	return func(t *testing.T, s ports.IdempotencyStore) {
		require.NoError(t, s.Create(ctx, rec("k1", "t1")))
		done := completed(rec("k1", "t1"), "t1")
		err := s.Replace(ctx, done, token)
		got, gerr := s.Get(ctx, "k1")
		require.NoError(t, gerr)
		if wantErr != nil {
			require.ErrorIs(t, err, wantErr)
			requireSame(t, rec("k1", "t1"), got)
			return
		}
		require.NoError(t, err)
		requireSame(t, done, got)
	}
}

func testReplaceMissing(t *testing.T, s ports.IdempotencyStore) {
	require.ErrorIs(t, s.Replace(ctx, rec("k1", "t1"), "t1"), ports.ErrTokenMismatch)
	_, err := s.Get(ctx, "k1")
	require.ErrorIs(t, err, ports.ErrRecordNotFound)
}

func testDelete(t *testing.T, s ports.IdempotencyStore) {
	require.NoError(t, s.Create(ctx, rec("k1", "t1")))
	require.ErrorIs(t, s.Delete(ctx, "k1", "t2"), ports.ErrTokenMismatch)
	_, err := s.Get(ctx, "k1")
	require.NoError(t, err, "a refused delete keeps the record")
	require.NoError(t, s.Delete(ctx, "k1", "t1"))
	_, err = s.Get(ctx, "k1")
	require.ErrorIs(t, err, ports.ErrRecordNotFound)
	require.ErrorIs(t, s.Delete(ctx, "k1", "t1"), ports.ErrTokenMismatch)
	require.NoError(t, s.Create(ctx, rec("k1", "t3")), "a deleted key can be claimed again")
}

func testLargeUnicodeBody(t *testing.T, s ports.IdempotencyStore) {
	r := completed(rec("k-ü/ß:1", "t1"), "t1")
	r.Response.Body = strings.Repeat(`{"detail":"Paradiso – ünïcødé ☃"}`, 300)
	require.NoError(t, s.Create(ctx, r))
	got, err := s.Get(ctx, r.Key)
	require.NoError(t, err)
	requireSame(t, r, got)
}

func testConcurrentClaims(t *testing.T, s ports.IdempotencyStore) {
	requireOneWinner(t, ports.ErrRecordExists, func(i int) error {
		return s.Create(ctx, rec("race", fmt.Sprintf("t%d", i)))
	})
}

func testConcurrentTakeovers(t *testing.T, s ports.IdempotencyStore) {
	require.NoError(t, s.Create(ctx, rec("race", "t0")))
	requireOneWinner(t, ports.ErrTokenMismatch, func(i int) error {
		return s.Replace(ctx, rec("race", fmt.Sprintf("t%d", i+1)), "t0")
	})
}

// requireSame compares records at the precision every store keeps: milliseconds for
// claim and lease times, seconds (rounded up) for the TTL.
func requireSame(t *testing.T, want, got ports.IdempotencyRecord) {
	t.Helper()
	require.Equal(t, want.Key, got.Key)
	require.Equal(t, want.Fingerprint, got.Fingerprint)
	require.Equal(t, want.AggregateID, got.AggregateID)
	require.Equal(t, want.State, got.State)
	require.Equal(t, want.Token, got.Token)
	require.True(t, want.ClaimedAt.Equal(got.ClaimedAt), "claimedAt: got %v want %v", got.ClaimedAt, want.ClaimedAt)
	require.True(t, want.LeaseUntil.Equal(got.LeaseUntil), "leaseUntil: got %v want %v", got.LeaseUntil, want.LeaseUntil)
	require.WithinDuration(t, want.ExpiresAt, got.ExpiresAt, time.Second)
	require.False(t, got.ExpiresAt.Before(want.ExpiresAt), "expiresAt: got %v, before %v", got.ExpiresAt, want.ExpiresAt)
	require.Equal(t, want.Response.Status, got.Response.Status)
	require.Equal(t, want.Response.Body, got.Response.Body)
	require.Equal(t, len(want.Response.Headers), len(got.Response.Headers), "headers: got %v want %v", got.Response.Headers, want.Response.Headers)
	for k, v := range want.Response.Headers {
		require.Equal(t, v, got.Response.Headers[k], "header %s", k)
	}
}

// requireOneWinner runs attempt 0..7 at once and requires exactly one to succeed and
// every other to fail with lost.
func requireOneWinner(t *testing.T, lost error, attempt func(i int) error) {
	t.Helper()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = attempt(i)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		require.ErrorIs(t, err, lost)
	}
	require.Equal(t, 1, wins, "got %d winners want 1", wins)
}
