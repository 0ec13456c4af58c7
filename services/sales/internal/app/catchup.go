package app

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrReplayNotFound is a replay the bus does not know (never started, or forgotten:
// devstack forgets replays when it restarts).
var ErrReplayNotFound = errors.New("replay not found")

// Replayer is the part of the EventBridge API the catch-up uses.
type Replayer interface {
	// StartReplay replays archiveARN's events of [from, to) to ruleARN only, on busARN.
	StartReplay(ctx context.Context, name, archiveARN, busARN, ruleARN string, from, to time.Time) error
	// ReplayState is the replay's state (STARTING, RUNNING, COMPLETED, …) and reason.
	ReplayState(ctx context.Context, name string) (state, reason string, err error)
}

// CatchUpConfig names what the catch-up replays.
type CatchUpConfig struct {
	Service                     string
	ArchiveARN, BusARN, RuleARN string
	Now                         func() time.Time
}

// CatchUpResult is what the job answers.
type CatchUpResult struct {
	ReplayName string `json:"replayName"`
	State      string `json:"state"`
	// Started is true when this call started the replay.
	Started bool `json:"started"`
}

// CatchUp brings a service deployed after the fact up to date: once, it replays the
// whole bus archive up to now to the service's own rule (live events reach the rule
// from its creation on; overlap is harmless, Record is idempotent). Later calls
// report the replay's state; a replay the bus forgot before it completed is started
// again under the same name.
type CatchUp struct {
	store    Store
	replayer Replayer
	cfg      CatchUpConfig
}

// NewCatchUp is the job over store and replayer (nil: the job fails when run).
func NewCatchUp(store Store, replayer Replayer, cfg CatchUpConfig) *CatchUp {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &CatchUp{store: store, replayer: replayer, cfg: cfg}
}

// Handle starts the catch-up replay unless one was started, and reports its state.
func (c *CatchUp) Handle(ctx context.Context) (CatchUpResult, error) {
	if c.replayer == nil || c.cfg.ArchiveARN == "" || c.cfg.RuleARN == "" || c.cfg.BusARN == "" {
		return CatchUpResult{}, errors.New("catch-up: no EventBridge client, archive, bus or rule ARN configured")
	}
	rec, ok, err := c.store.CatchUp(ctx)
	if err != nil {
		return CatchUpResult{}, fmt.Errorf("catch-up: %w", err)
	}
	if ok && rec.Completed {
		return CatchUpResult{ReplayName: rec.ReplayName, State: "COMPLETED"}, nil
	}
	if !ok {
		// The whole archive up to now: EventBridge replays [EventStartTime,
		// EventEndTime), an archive holds nothing from before its creation, and the rule
		// exists already, so what comes later reaches it live. Milliseconds, the API's
		// precision: a whole second would leave out the events of this second.
		now := c.cfg.Now().UTC().Truncate(time.Millisecond)
		rec = CatchUpRecord{ReplayName: fmt.Sprintf("%s-catch-up-%d", c.cfg.Service, now.UnixMilli()), From: time.Unix(0, 0).UTC(), To: now}
		if rec, err = c.store.SaveCatchUp(ctx, rec); err != nil {
			return CatchUpResult{}, fmt.Errorf("catch-up: record: %w", err)
		}
	}
	state, _, err := c.replayer.ReplayState(ctx, rec.ReplayName)
	started := false
	if errors.Is(err, ErrReplayNotFound) {
		if err = c.replayer.StartReplay(ctx, rec.ReplayName, c.cfg.ArchiveARN, c.cfg.BusARN, c.cfg.RuleARN, rec.From, rec.To); err != nil {
			return CatchUpResult{}, fmt.Errorf("catch-up: start replay %s: %w", rec.ReplayName, err)
		}
		started = true
		state, _, err = c.replayer.ReplayState(ctx, rec.ReplayName)
	}
	if err != nil {
		return CatchUpResult{}, fmt.Errorf("catch-up: replay %s: %w", rec.ReplayName, err)
	}
	if state == "COMPLETED" {
		rec.Completed = true
		if _, err := c.store.SaveCatchUp(ctx, rec); err != nil {
			return CatchUpResult{}, fmt.Errorf("catch-up: record completion: %w", err)
		}
	}
	return CatchUpResult{ReplayName: rec.ReplayName, State: state, Started: started}, nil
}
