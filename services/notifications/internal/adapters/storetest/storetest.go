// Package storetest is the conformance suite of app.Store: every adapter runs it, so
// devstack (bbolt) and AWS (DynamoDB) behave alike.
package storetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/notifications/internal/app"
)

// Options describe what the server behind an adapter cannot be relied on for.
type Options struct {
	// NotAtomic leaves out the concurrency case, for a test server whose conditional
	// writes are not atomic under concurrent requests (see dynamotest.Backend).
	NotAtomic bool
}

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, opts Options, newStore func(t *testing.T) app.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, st app.Store)
	}{
		{"SubscribersOfAConcertAndOfStarAreSeparate", testSubscribersSeparate},
		{"SubscribeTwiceKeepsOne", testSubscribeTwice},
		{"SubscribeUnknownConnectionNotFound", testSubscribeUnknownConnection},
		{"UnsubscribeRemovesOnlyThatAndIsIdempotent", testUnsubscribe},
		{"DeleteConnectionRemovesSubscriptionsAndVersions", testDeleteConnection},
		{"ExpiredSubscriptionsNotListed", testExpiredSubscriptions},
		{"ClaimsOnlyMoveForward", testClaimsMoveForward},
		{"ReleaseLetsTheVersionBeClaimedAgain", testRelease},
		{"StaleClaimCannotReleaseNewer", testStaleRelease},
		{"ConcurrentClaimsOneWins", testConcurrentClaims},
	}
	for _, tc := range tests {
		if opts.NotAtomic && tc.name == "ConcurrentClaimsOneWins" { // see Options.NotAtomic
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

var (
	ctx  = context.Background()
	t0   = time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
	hour = t0.Add(time.Hour)
)

func connect(t *testing.T, st app.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		require.NoError(t, st.PutConnection(ctx, app.Connection{ID: id, ConnectedAt: t0, ExpiresAt: hour}))
	}
}

func subscribers(t *testing.T, st app.Store, concertID string, now time.Time) []string {
	t.Helper()
	got, err := st.Subscribers(ctx, concertID, now)
	require.NoError(t, err)
	sort.Strings(got)
	return got
}

func subscriptions(t *testing.T, st app.Store, conn string) []string {
	t.Helper()
	got, err := st.Subscriptions(ctx, conn, t0)
	require.NoError(t, err)
	sort.Strings(got)
	return got
}

func claim(t *testing.T, st app.Store, d app.Delivery, now time.Time) app.Claim {
	t.Helper()
	c, err := st.ClaimDelivery(ctx, d, now, now.Add(30*time.Second), hour)
	require.NoError(t, err)
	return c
}

func testSubscribersSeparate(t *testing.T, st app.Store) {
	connect(t, st, "c1", "c2", "c3")
	require.NoError(t, st.Subscribe(ctx, "c1", "concert-a", hour))
	require.NoError(t, st.Subscribe(ctx, "c2", "concert-a", hour))
	require.NoError(t, st.Subscribe(ctx, "c2", "concert-b", hour))
	require.NoError(t, st.Subscribe(ctx, "c3", "*", hour))
	require.Equal(t, []string{"c1", "c2"}, subscribers(t, st, "concert-a", t0))
	require.Equal(t, []string{"c2"}, subscribers(t, st, "concert-b", t0))
	require.Equal(t, []string{"c3"}, subscribers(t, st, "*", t0))
	require.Empty(t, subscribers(t, st, "concert-c", t0))
	require.Equal(t, []string{"concert-a", "concert-b"}, subscriptions(t, st, "c2"))
}

func testSubscribeTwice(t *testing.T, st app.Store) {
	connect(t, st, "c1")
	require.NoError(t, st.Subscribe(ctx, "c1", "concert-a", hour))
	require.NoError(t, st.Subscribe(ctx, "c1", "concert-a", hour))
	require.Equal(t, []string{"c1"}, subscribers(t, st, "concert-a", t0))
	require.Equal(t, []string{"concert-a"}, subscriptions(t, st, "c1"))
}

func testSubscribeUnknownConnection(t *testing.T, st app.Store) {
	err := st.Subscribe(ctx, "nobody", "concert-a", hour)
	require.ErrorIs(t, err, app.ErrConnectionNotFound, "got %v, want ErrConnectionNotFound", err)
	require.Empty(t, subscribers(t, st, "concert-a", t0))
}

func testUnsubscribe(t *testing.T, st app.Store) {
	connect(t, st, "c1")
	require.NoError(t, st.Subscribe(ctx, "c1", "concert-a", hour))
	require.NoError(t, st.Subscribe(ctx, "c1", "*", hour))
	require.NoError(t, st.Unsubscribe(ctx, "c1", "concert-a"))
	require.NoError(t, st.Unsubscribe(ctx, "c1", "concert-a"))
	require.NoError(t, st.Unsubscribe(ctx, "c1", "never-subscribed"))
	require.Empty(t, subscribers(t, st, "concert-a", t0))
	require.Equal(t, []string{"c1"}, subscribers(t, st, "*", t0))
	require.Equal(t, []string{"*"}, subscriptions(t, st, "c1"))
}

func testDeleteConnection(t *testing.T, st app.Store) {
	connect(t, st, "c1", "c2")
	// More subscriptions than one DynamoDB batch (25) holds.
	for i := range 30 {
		require.NoError(t, st.Subscribe(ctx, "c1", fmt.Sprintf("concert-%02d", i), hour))
	}
	require.NoError(t, st.Subscribe(ctx, "c1", "*", hour))
	require.NoError(t, st.Subscribe(ctx, "c2", "concert-00", hour))
	d := app.Delivery{ConnectionID: "c1", ConcertID: "concert-00", Version: 7}
	c := claim(t, st, d, t0)
	require.Equal(t, app.Claimed, c.Outcome)
	require.NoError(t, st.ConfirmDelivery(ctx, d, c))

	require.NoError(t, st.DeleteConnection(ctx, "c1"))
	require.NoError(t, st.DeleteConnection(ctx, "c1"), "deleting again")
	require.NoError(t, st.DeleteConnection(ctx, "never-connected"))
	for i := range 30 {
		concertID := fmt.Sprintf("concert-%02d", i)
		want := []string(nil)
		if i == 0 {
			want = []string{"c2"}
		}
		got := subscribers(t, st, concertID, t0)
		if len(want) == 0 {
			require.Empty(t, got, "subscribers of %s", concertID)
		} else {
			require.Equal(t, want, got, "subscribers of %s", concertID)
		}
	}
	require.Empty(t, subscribers(t, st, "*", t0))
	require.Empty(t, subscriptions(t, st, "c1"))
	err := st.Subscribe(ctx, "c1", "concert-00", hour)
	require.ErrorIs(t, err, app.ErrConnectionNotFound, "got %v after delete, want ErrConnectionNotFound", err)
	// The version mark went with the connection: a reused id starts afresh.
	require.Equal(t, app.Claimed, claim(t, st, app.Delivery{ConnectionID: "c1", ConcertID: "concert-00", Version: 1}, t0).Outcome)
}

func testExpiredSubscriptions(t *testing.T, st app.Store) {
	connect(t, st, "c1", "c2")
	require.NoError(t, st.Subscribe(ctx, "c1", "concert-a", t0.Add(time.Minute)))
	require.NoError(t, st.Subscribe(ctx, "c2", "concert-a", t0.Add(3*time.Minute)))
	require.Equal(t, []string{"c1", "c2"}, subscribers(t, st, "concert-a", t0))
	require.Equal(t, []string{"c2"}, subscribers(t, st, "concert-a", t0.Add(2*time.Minute)))
	subs, err := st.Subscriptions(ctx, "c1", t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.Empty(t, subs)
}

func testClaimsMoveForward(t *testing.T, st app.Store) {
	d := func(v int64) app.Delivery {
		return app.Delivery{ConnectionID: "c1", ConcertID: "concert-a", Version: v}
	}
	tests := []struct {
		name    string
		version int64
		at      time.Duration
		confirm bool
		want    app.ClaimOutcome
		prev    int64
	}{
		{"first version", 3, 0, false, app.Claimed, 0},
		{"same version while in flight", 3, time.Second, false, app.Superseded, 3},
		{"newer version while the older is in flight", 4, time.Second, false, app.InFlight, 3},
		{"older version", 2, time.Minute, false, app.Superseded, 3},
		{"newer version after the lease ended", 5, time.Minute, true, app.Claimed, 3},
		{"same version after confirm", 5, time.Minute + time.Second, false, app.Superseded, 5},
		{"newer version right after confirm", 6, time.Minute + time.Second, true, app.Claimed, 5},
	}
	for _, tt := range tests {
		c := claim(t, st, d(tt.version), t0.Add(tt.at))
		require.Equal(t, tt.want, c.Outcome, "%s: got %v, want %v", tt.name, c.Outcome, tt.want)
		require.Equal(t, tt.prev, c.Previous, "%s: previous", tt.name)
		if tt.confirm {
			require.NoError(t, st.ConfirmDelivery(ctx, d(tt.version), c))
		}
	}
	// Another concert and another connection are independent.
	require.Equal(t, app.Claimed, claim(t, st, app.Delivery{ConnectionID: "c1", ConcertID: "concert-b", Version: 1}, t0).Outcome)
	require.Equal(t, app.Claimed, claim(t, st, app.Delivery{ConnectionID: "c2", ConcertID: "concert-a", Version: 1}, t0).Outcome)
}

func testRelease(t *testing.T, st app.Store) {
	d1 := app.Delivery{ConnectionID: "c1", ConcertID: "concert-a", Version: 1}
	d2 := app.Delivery{ConnectionID: "c1", ConcertID: "concert-a", Version: 2}
	c1 := claim(t, st, d1, t0)
	require.NoError(t, st.ReleaseDelivery(ctx, d1, c1))
	c1 = claim(t, st, d1, t0)
	require.Equal(t, app.Claimed, c1.Outcome, "after releasing the only claim")
	require.NoError(t, st.ConfirmDelivery(ctx, d1, c1))
	c2 := claim(t, st, d2, t0)
	require.Equal(t, app.Claimed, c2.Outcome)
	require.NoError(t, st.ReleaseDelivery(ctx, d2, c2))
	require.Equal(t, app.Superseded, claim(t, st, d1, t0).Outcome, "version 1 stays delivered after releasing 2")
	again := claim(t, st, d2, t0)
	require.Equal(t, app.Claimed, again.Outcome, "after release")
	require.Equal(t, int64(1), again.Previous)
}

func testStaleRelease(t *testing.T, st app.Store) {
	d3 := app.Delivery{ConnectionID: "c1", ConcertID: "concert-a", Version: 3}
	d4 := app.Delivery{ConnectionID: "c1", ConcertID: "concert-a", Version: 4}
	stale := claim(t, st, d3, t0)
	newer := claim(t, st, d4, t0.Add(time.Minute)) // after stale's lease ended
	require.Equal(t, app.Claimed, newer.Outcome)
	require.NoError(t, st.ReleaseDelivery(ctx, d3, stale))
	require.NoError(t, st.ConfirmDelivery(ctx, d3, stale))
	require.Equal(t, app.Superseded, claim(t, st, d4, t0.Add(2*time.Minute)).Outcome)
}

func testConcurrentClaims(t *testing.T, st app.Store) {
	d := app.Delivery{ConnectionID: "c1", ConcertID: "concert-a", Version: 9}
	const n = 8
	var wg sync.WaitGroup
	outcomes := make([]app.ClaimOutcome, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := st.ClaimDelivery(ctx, d, t0, t0.Add(30*time.Second), hour)
			outcomes[i], errs[i] = c.Outcome, err
		}()
	}
	wg.Wait()
	won := 0
	for i := range n {
		if errs[i] != nil {
			continue // a conflict error is a lost race too (DynamoDB may refuse concurrent writes)
		}
		if outcomes[i] == app.Claimed {
			won++
		}
	}
	require.Equal(t, 1, won, "got %d winners, want 1 (outcomes %v, errors %v)", won, outcomes, errs)
}
