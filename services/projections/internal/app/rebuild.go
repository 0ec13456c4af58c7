package app

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Replay states, as EventBridge's DescribeReplay names them.
const (
	ReplayStarting   = "STARTING"
	ReplayRunning    = "RUNNING"
	ReplayCancelling = "CANCELLING"
	ReplayCompleted  = "COMPLETED"
	ReplayCancelled  = "CANCELLED"
	ReplayFailed     = "FAILED"
)

// ReplayStatus is what DescribeReplay says of a replay.
type ReplayStatus struct {
	State        string
	Reason       string
	LastReplayed time.Time // time of the last event replayed so far (zero: none yet)
}

// Replayer replays the bus archive to this service's consumer rule only (an
// EventBridge replay with Destination.FilterArns = that rule): the rebuild's one
// source of history, owned by the bus, not by another service.
type Replayer interface {
	StartReplay(ctx context.Context, name string, from, to time.Time) error
	DescribeReplay(ctx context.Context, name string) (ReplayStatus, error)
}

// RebuildResult says how a rebuild's replay ended.
type RebuildResult struct {
	Replay       string    `json:"replay"`
	State        string    `json:"state"`
	Reason       string    `json:"reason,omitempty"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	LastReplayed time.Time `json:"lastReplayed,omitzero"`
}

// archiveStart is before the first event of any concertsys bus: a replay from it
// reaches the whole archive.
var archiveStart = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Rebuild is the rebuild-projections use case: it replays the bus archive to the
// projection's own rule and follows the replay to its end. The consumer applies the
// replayed events like live ones: views only move forward and events carry the
// concert's state, so it is safe while live events flow and ends in the views a live
// consumer that saw every event has (byte-identical; BenchmarkRebuild measures the
// fold of the same events in process).
type Rebuild struct {
	replayer Replayer
	now      func() time.Time
	poll     time.Duration
}

// NewRebuild rebuilds through replayer (nil: every Handle fails), polling the
// replay's state every poll (at least 10 ms).
func NewRebuild(replayer Replayer, now func() time.Time, poll time.Duration) *Rebuild {
	if now == nil {
		now = time.Now
	}
	return &Rebuild{replayer: replayer, now: now, poll: max(poll, 10*time.Millisecond)}
}

// Handle starts a replay of everything archived before now and waits until it ends
// or ctx is done. A replay that ends FAILED or CANCELLED is an error; if ctx ends
// first (the job's timeout) the replay goes on and the result says RUNNING.
func (r *Rebuild) Handle(ctx context.Context) (RebuildResult, error) {
	if r.replayer == nil {
		return RebuildResult{}, errors.New("rebuild: no replayer configured")
	}
	to := r.now().UTC().Truncate(time.Millisecond)
	res := RebuildResult{Replay: "projections-rebuild-" + to.Format("20060102T150405.000Z"), From: archiveStart, To: to}
	if err := r.replayer.StartReplay(ctx, res.Replay, res.From, res.To); err != nil {
		return res, fmt.Errorf("rebuild: start replay %s: %w", res.Replay, err)
	}
	res.State = ReplayStarting
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return res, nil
		case <-tick.C:
		}
		st, err := r.replayer.DescribeReplay(ctx, res.Replay)
		if err != nil {
			if ctx.Err() != nil {
				return res, nil
			}
			return res, fmt.Errorf("rebuild: describe replay %s: %w", res.Replay, err)
		}
		res.State, res.Reason, res.LastReplayed = st.State, st.Reason, st.LastReplayed
		switch st.State {
		case ReplayCompleted:
			return res, nil
		case ReplayFailed, ReplayCancelled:
			return res, fmt.Errorf("rebuild: replay %s ended %s: %s", res.Replay, st.State, st.Reason)
		}
	}
}
