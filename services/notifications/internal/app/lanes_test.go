package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waiting reports the version waiting in d's lane (0: none; -1: no lane).
func (l *deliveryLanes) waitingIn(d Delivery) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	lane, ok := l.lanes[laneKey{d.ConnectionID, d.ConcertID}]
	if !ok {
		return -1
	}
	return lane.waiting
}

func TestDeliveryLanes(t *testing.T) {
	d := func(v int64) Delivery { return Delivery{ConnectionID: "conn", ConcertID: "c1", Version: v} }
	wait := func(t *testing.T, l *deliveryLanes, v int64) {
		require.Eventually(t, func() bool { return l.waitingIn(d(v)) == v }, 5*time.Second, time.Millisecond, "v%d never waited", v)
	}
	tests := []struct {
		name string
		run  func(t *testing.T, l *deliveryLanes)
	}{
		{"a free lane is taken at once, and freed", func(t *testing.T, l *deliveryLanes) {
			require.NoError(t, l.acquire(context.Background(), d(1)))
			l.release(d(1))
			require.Equal(t, int64(-1), l.waitingIn(d(1)), "got a lane left behind")
		}},
		{"other concerts and connections do not wait", func(t *testing.T, l *deliveryLanes) {
			require.NoError(t, l.acquire(context.Background(), d(1)))
			require.NoError(t, l.acquire(context.Background(), Delivery{ConnectionID: "conn", ConcertID: "c2", Version: 1}))
			require.NoError(t, l.acquire(context.Background(), Delivery{ConnectionID: "other", ConcertID: "c1", Version: 1}))
		}},
		{"the holder hands the lane to the waiter", func(t *testing.T, l *deliveryLanes) {
			require.NoError(t, l.acquire(context.Background(), d(1)))
			got := make(chan error)
			go func() { got <- l.acquire(context.Background(), d(2)) }()
			wait(t, l, 2)
			l.release(d(1))
			require.NoError(t, <-got)
			require.Equal(t, int64(0), l.waitingIn(d(2)), "got the lane freed, want it held by v2")
			l.release(d(2))
			require.Equal(t, int64(-1), l.waitingIn(d(2)))
		}},
		{"a newer version supersedes the waiter; an older one is superseded at once", func(t *testing.T, l *deliveryLanes) {
			require.NoError(t, l.acquire(context.Background(), d(1)))
			v2 := make(chan error)
			go func() { v2 <- l.acquire(context.Background(), d(2)) }()
			wait(t, l, 2)
			v4 := make(chan error)
			go func() { v4 <- l.acquire(context.Background(), d(4)) }()
			require.ErrorIs(t, <-v2, errSupersededLocally)
			wait(t, l, 4)
			require.ErrorIs(t, l.acquire(context.Background(), d(3)), errSupersededLocally)
			l.release(d(1))
			require.NoError(t, <-v4)
		}},
		{"a waiter whose context ends leaves the lane", func(t *testing.T, l *deliveryLanes) {
			require.NoError(t, l.acquire(context.Background(), d(1)))
			ctx, cancel := context.WithCancel(context.Background())
			got := make(chan error)
			go func() { got <- l.acquire(ctx, d(2)) }()
			wait(t, l, 2)
			cancel()
			require.ErrorIs(t, <-got, context.Canceled)
			require.Equal(t, int64(0), l.waitingIn(d(1)))
			l.release(d(1))
			require.Equal(t, int64(-1), l.waitingIn(d(1)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, &deliveryLanes{}) })
	}
}
