package app

import (
	"context"
	"errors"
	"sync"
)

// errSupersededLocally: a newer version of the concert for the connection is waiting
// in this process, and will be posted instead.
var errSupersededLocally = errors.New("a newer version is waiting for the connection")

// deliveryLanes serialise, within this process, the deliveries of one concert to one
// connection, so a version never finds an earlier one of this process in flight in
// the store (which would make it poll, inFlightWaits): it waits for its turn instead,
// and the earlier delivery hands the lane over as it ends. A lane holds one delivery
// and at most one waiter: a newer version supersedes the waiting one (which is
// reported as skipped, like a store claim that is Superseded: the connection gets
// the newer version instead, so a "*" subscriber gets the latest of a burst of one
// concert, not every version). Versions still never go backwards: the holder posts,
// then the waiter claims in the store, which refuses anything not newer than the last
// claim. Deliveries by other processes (other Lambda instances) still meet in the
// store's claims.
type deliveryLanes struct {
	mu    sync.Mutex
	lanes map[laneKey]*deliveryLane
}

type laneKey struct{ connectionID, concertID string }

type deliveryLane struct {
	waiting int64     // version of the waiter, 0 when none
	turn    chan bool // the waiter's: true when the lane is handed to it, false when superseded
}

// acquire returns when d holds its lane, errSupersededLocally when a newer version took
// its place, or ctx's error.
func (l *deliveryLanes) acquire(ctx context.Context, d Delivery) error {
	k := laneKey{d.ConnectionID, d.ConcertID}
	l.mu.Lock()
	if l.lanes == nil {
		l.lanes = map[laneKey]*deliveryLane{}
	}
	lane, held := l.lanes[k]
	if !held {
		l.lanes[k] = &deliveryLane{}
		l.mu.Unlock()
		return nil
	}
	if d.Version <= lane.waiting {
		l.mu.Unlock()
		return errSupersededLocally
	}
	if lane.waiting != 0 {
		lane.turn <- false
	}
	turn := make(chan bool, 1)
	lane.waiting, lane.turn = d.Version, turn
	l.mu.Unlock()
	select {
	case mine := <-turn:
		if !mine {
			return errSupersededLocally
		}
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if lane.turn == turn {
			lane.waiting, lane.turn = 0, nil
			return ctx.Err()
		}
		// Handed over or superseded meanwhile: a handed-over lane must be passed on.
		if <-turn {
			l.releaseLocked(k, lane)
		}
		return ctx.Err()
	}
}

// release hands d's lane to its waiter, or frees it.
func (l *deliveryLanes) release(d Delivery) {
	k := laneKey{d.ConnectionID, d.ConcertID}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releaseLocked(k, l.lanes[k])
}

func (l *deliveryLanes) releaseLocked(k laneKey, lane *deliveryLane) {
	if lane.waiting == 0 {
		delete(l.lanes, k)
		return
	}
	lane.turn <- true
	lane.waiting, lane.turn = 0, nil
}
