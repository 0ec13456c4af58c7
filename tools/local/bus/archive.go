package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/concertsys/tools/local/eventpattern"
)

// Archive and replay, as EventBridge has them: an archive keeps the events of the bus
// that match its pattern (durably with DataDir), a replay puts archived events back on
// the bus for some or all rules, with "replay-name" set. Replayed events are never
// archived again.

// Archive and replay states, as EventBridge spells them.
const (
	ArchiveEnabled   = "ENABLED"
	ReplayStarting   = "STARTING"
	ReplayRunning    = "RUNNING"
	ReplayCancelling = "CANCELLING"
	ReplayCancelled  = "CANCELLED"
	ReplayCompleted  = "COMPLETED"
	ReplayFailed     = "FAILED"
)

// DefaultMaxReplays is Options.MaxReplays's default. EventBridge allows 10 concurrent
// replays per account and Region.
const DefaultMaxReplays = 10

// Errors of the archive and replay operations, testable with errors.Is.
var (
	ErrArchiveExists    = errors.New("archive already exists")
	ErrArchiveNotFound  = errors.New("archive does not exist")
	ErrReplayExists     = errors.New("replay already exists")
	ErrReplayNotFound   = errors.New("replay does not exist")
	ErrRuleNotFound     = errors.New("rule does not exist")
	ErrInvalidPattern   = errors.New("event pattern is not valid")
	ErrInvalidArgument  = errors.New("invalid argument")
	ErrIllegalStatus    = errors.New("illegal status")
	ErrTooManyReplays   = errors.New("too many replays running")
	replaySuffix        = "#replay:"
	maxArchiveNameChars = 48
	maxReplayNameChars  = 64
)

// ArchiveConfig creates or updates an archive.
type ArchiveConfig struct {
	Name        string
	Description string
	// EventPattern selects the events archived; empty archives every event.
	EventPattern json.RawMessage
	// RetentionDays keeps events that long; 0 keeps them forever.
	RetentionDays int
}

// Archive describes an archive.
type Archive struct {
	Name          string          `json:"name"`
	ARN           string          `json:"arn"`
	SourceARN     string          `json:"sourceArn"`
	Description   string          `json:"description,omitempty"`
	EventPattern  json.RawMessage `json:"eventPattern,omitempty"`
	RetentionDays int             `json:"retentionDays"`
	State         string          `json:"state"`
	CreationTime  time.Time       `json:"creationTime"`
	EventCount    int64           `json:"eventCount"`
	SizeBytes     int64           `json:"sizeBytes"`
}

// ReplayConfig starts a replay.
type ReplayConfig struct {
	Name        string
	Description string
	ArchiveARN  string // EventSourceArn
	Start, End  time.Time
	// DestinationARN must be the bus ARN.
	DestinationARN string
	// FilterARNs are rule ARNs (or names); empty replays to every rule of the bus.
	FilterARNs []string
}

// Replay describes a replay.
type Replay struct {
	Name             string    `json:"name"`
	ARN              string    `json:"arn"`
	Description      string    `json:"description,omitempty"`
	ArchiveARN       string    `json:"archiveArn"`
	Start            time.Time `json:"eventStartTime"`
	End              time.Time `json:"eventEndTime"`
	DestinationARN   string    `json:"destinationArn"`
	FilterARNs       []string  `json:"filterArns,omitempty"`
	State            string    `json:"state"`
	StateReason      string    `json:"stateReason,omitempty"`
	ReplayStartTime  time.Time `json:"replayStartTime"`
	ReplayEndTime    time.Time `json:"replayEndTime,omitzero"`
	LastReplayedTime time.Time `json:"eventLastReplayedTime,omitzero"`
	EventsReplayed   int       `json:"eventsReplayed"`
	DeliveriesQueued int       `json:"deliveriesQueued"`
	cancel           chan struct{}
	cancelOnce       *sync.Once
}

// RuleInfo describes a subscribed rule as ListRules and DescribeRule show it.
type RuleInfo struct {
	Name         string          `json:"name"`
	ARN          string          `json:"arn"`
	EventBusName string          `json:"eventBusName"`
	EventPattern json.RawMessage `json:"eventPattern"`
	State        string          `json:"state"`
	TargetARN    string          `json:"targetArn"`
}

// archiveMeta is what the store keeps of an archive.
type archiveMeta struct {
	Name          string          `json:"name"`
	Description   string          `json:"description,omitempty"`
	EventPattern  json.RawMessage `json:"eventPattern,omitempty"`
	RetentionDays int             `json:"retentionDays"`
	CreationTime  time.Time       `json:"creationTime"`
}

// archivedEvent is one event kept by an archive; Time is the event's time.
type archivedEvent struct {
	Archive string
	EventID string
	Time    time.Time
	Event   []byte
}

// archive is a live archive: its metadata and compiled pattern.
type archive struct {
	meta    archiveMeta
	pattern matcher // nil: every event
}

// archiveStore keeps archives and their events.
type archiveStore interface {
	putArchive(m archiveMeta) error
	deleteArchive(name string) error
	archives() ([]archiveMeta, error)
	// addPendingArchived adds deliveries (store.addPending) and archived events at once.
	addPendingArchived(ds []*delivery, evs []archivedEvent) error
	// archived calls fn for the archive's events in time order until fn returns false.
	archived(name string, fn func(archivedEvent) bool) error
	// purgeArchived deletes the archive's events older than before.
	purgeArchived(name string, before time.Time) error
}

// ArchiveARN is the ARN of the archive name.
func (b *Bus) ArchiveARN(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:archive/%s", b.opts.Region, b.opts.Account, name)
}

// ReplayARN is the ARN of the replay name.
func (b *Bus) ReplayARN(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:replay/%s", b.opts.Region, b.opts.Account, name)
}

// RuleARN is the ARN of the rule name on this bus.
func (b *Bus) RuleARN(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", b.opts.Region, b.opts.Account, b.opts.Name, name)
}

// FunctionARN is a Lambda function ARN in the bus's account and Region.
func (b *Bus) FunctionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", b.opts.Region, b.opts.Account, name)
}

func validName(name string, most int) bool {
	if name == "" || len(name) > most {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func compileArchivePattern(p json.RawMessage) (matcher, error) {
	if len(bytes.TrimSpace(p)) == 0 {
		return nil, nil
	}
	m, err := eventpattern.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPattern, err)
	}
	return m, nil
}

// loadArchives reads the stored archives; New calls it.
func (b *Bus) loadArchives() error {
	metas, err := b.arch.archives()
	if err != nil {
		return err
	}
	for _, m := range metas {
		p, err := compileArchivePattern(m.EventPattern)
		if err != nil {
			return fmt.Errorf("archive %s: %w", m.Name, err)
		}
		b.archives[m.Name] = &archive{meta: m, pattern: p}
	}
	return nil
}

// CreateArchive creates an archive of this bus's events from now on.
func (b *Bus) CreateArchive(cfg ArchiveConfig) (Archive, error) {
	if !validName(cfg.Name, maxArchiveNameChars) {
		return Archive{}, fmt.Errorf("%w: archive name %q must be 1 to %d of [.\\-_A-Za-z0-9]", ErrInvalidArgument, cfg.Name, maxArchiveNameChars)
	}
	if cfg.RetentionDays < 0 {
		return Archive{}, fmt.Errorf("%w: RetentionDays must be at least 0", ErrInvalidArgument)
	}
	p, err := compileArchivePattern(cfg.EventPattern)
	if err != nil {
		return Archive{}, err
	}
	b.archMu.Lock()
	defer b.archMu.Unlock()
	if _, ok := b.archives[cfg.Name]; ok {
		return Archive{}, fmt.Errorf("%w: %s", ErrArchiveExists, cfg.Name)
	}
	m := archiveMeta{Name: cfg.Name, Description: cfg.Description, EventPattern: cfg.EventPattern,
		RetentionDays: cfg.RetentionDays, CreationTime: b.now().UTC().Truncate(time.Second)}
	if err := b.arch.putArchive(m); err != nil {
		return Archive{}, err
	}
	b.archives[cfg.Name] = &archive{meta: m, pattern: p}
	return b.describeArchiveLocked(b.archives[cfg.Name])
}

// UpdateArchive changes an archive's description, pattern and retention; an empty
// Description or EventPattern, or a negative RetentionDays, keeps the current one.
func (b *Bus) UpdateArchive(cfg ArchiveConfig) (Archive, error) {
	b.archMu.Lock()
	defer b.archMu.Unlock()
	a, ok := b.archives[cfg.Name]
	if !ok {
		return Archive{}, fmt.Errorf("%w: %s", ErrArchiveNotFound, cfg.Name)
	}
	m, p := a.meta, a.pattern
	if cfg.Description != "" {
		m.Description = cfg.Description
	}
	if len(cfg.EventPattern) > 0 {
		np, err := compileArchivePattern(cfg.EventPattern)
		if err != nil {
			return Archive{}, err
		}
		m.EventPattern, p = cfg.EventPattern, np
	}
	if cfg.RetentionDays >= 0 {
		m.RetentionDays = cfg.RetentionDays
	}
	if err := b.arch.putArchive(m); err != nil {
		return Archive{}, err
	}
	a = &archive{meta: m, pattern: p}
	b.archives[cfg.Name] = a
	return b.describeArchiveLocked(a)
}

// DeleteArchive deletes an archive and its events.
func (b *Bus) DeleteArchive(name string) error {
	b.archMu.Lock()
	defer b.archMu.Unlock()
	if _, ok := b.archives[name]; !ok {
		return fmt.Errorf("%w: %s", ErrArchiveNotFound, name)
	}
	if err := b.arch.deleteArchive(name); err != nil {
		return err
	}
	delete(b.archives, name)
	return nil
}

// DescribeArchive describes one archive, with its event count and size.
func (b *Bus) DescribeArchive(name string) (Archive, error) {
	b.archMu.Lock()
	defer b.archMu.Unlock()
	a, ok := b.archives[name]
	if !ok {
		return Archive{}, fmt.Errorf("%w: %s", ErrArchiveNotFound, name)
	}
	return b.describeArchiveLocked(a)
}

// Archives lists the archives by name.
func (b *Bus) Archives() ([]Archive, error) {
	b.archMu.Lock()
	defer b.archMu.Unlock()
	out := make([]Archive, 0, len(b.archives))
	for _, a := range b.archives {
		d, err := b.describeArchiveLocked(a)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(x, y Archive) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

func (b *Bus) describeArchiveLocked(a *archive) (Archive, error) {
	if err := b.purgeArchiveLocked(a); err != nil {
		return Archive{}, err
	}
	d := Archive{Name: a.meta.Name, ARN: b.ArchiveARN(a.meta.Name), SourceARN: b.ARN(), Description: a.meta.Description,
		EventPattern: a.meta.EventPattern, RetentionDays: a.meta.RetentionDays, State: ArchiveEnabled, CreationTime: a.meta.CreationTime}
	err := b.arch.archived(a.meta.Name, func(e archivedEvent) bool {
		d.EventCount++
		d.SizeBytes += int64(len(e.Event))
		return true
	})
	return d, err
}

// purgeArchiveLocked drops events past the archive's retention.
func (b *Bus) purgeArchiveLocked(a *archive) error {
	if a.meta.RetentionDays == 0 {
		return nil
	}
	return b.arch.purgeArchived(a.meta.Name, b.now().Add(-time.Duration(a.meta.RetentionDays)*24*time.Hour))
}

// archivedFor lists what each archive whose pattern matches keeps of the events. Put
// calls it for new events only, never for replayed ones, and stores the result with
// the deliveries in one commit; an event racing with DeleteArchive is dropped by the
// store (it skips unknown archives).
func (b *Bus) archivedFor(raws [][]byte, ids []string, times []time.Time) []archivedEvent {
	b.archMu.Lock()
	defer b.archMu.Unlock()
	var out []archivedEvent
	for _, a := range b.archives {
		for i, raw := range raws {
			if a.pattern != nil {
				ok, err := a.pattern.Match(raw)
				if err != nil || !ok {
					continue
				}
			}
			out = append(out, archivedEvent{Archive: a.meta.Name, EventID: ids[i], Time: times[i], Event: raw})
		}
	}
	return out
}

// archiveName returns the archive name of an archive ARN (or a bare name).
func (b *Bus) archiveName(arnOrName string) string {
	return strings.TrimPrefix(arnOrName, fmt.Sprintf("arn:aws:events:%s:%s:archive/", b.opts.Region, b.opts.Account))
}

// ruleName returns the rule name of one of this bus's rule ARNs (or a bare name).
func (b *Bus) ruleName(arnOrName string) string {
	return strings.TrimPrefix(arnOrName, fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/", b.opts.Region, b.opts.Account, b.opts.Name))
}

// StartReplay starts replaying the archived events whose time is in [Start, End) to
// the rules named by FilterARNs (every rule if empty). It returns at once in state
// STARTING; the replay runs in the background (see DescribeReplay).
func (b *Bus) StartReplay(cfg ReplayConfig) (Replay, error) {
	if !validName(cfg.Name, maxReplayNameChars) {
		return Replay{}, fmt.Errorf("%w: replay name %q must be 1 to %d of [.\\-_A-Za-z0-9]", ErrInvalidArgument, cfg.Name, maxReplayNameChars)
	}
	if cfg.Start.IsZero() || cfg.End.IsZero() {
		return Replay{}, fmt.Errorf("%w: EventStartTime and EventEndTime are required", ErrInvalidArgument)
	}
	if !cfg.End.After(cfg.Start) {
		return Replay{}, fmt.Errorf("%w: EventEndTime must be after EventStartTime", ErrInvalidArgument)
	}
	if cfg.DestinationARN != b.ARN() {
		return Replay{}, fmt.Errorf("%w: Destination.Arn %q must be the archive's event bus %s", ErrInvalidArgument, cfg.DestinationARN, b.ARN())
	}
	archName := b.archiveName(cfg.ArchiveARN)
	b.archMu.Lock()
	_, ok := b.archives[archName]
	b.archMu.Unlock()
	if !ok {
		return Replay{}, fmt.Errorf("%w: %s", ErrArchiveNotFound, cfg.ArchiveARN)
	}
	var rules []string
	b.mu.RLock()
	for _, f := range cfg.FilterARNs {
		name := b.ruleName(f)
		if _, ok := b.rules[name]; !ok || name == f && strings.HasPrefix(f, "arn:") {
			b.mu.RUnlock()
			return Replay{}, fmt.Errorf("%w: %s on event bus %s", ErrRuleNotFound, f, b.opts.Name)
		}
		rules = append(rules, name)
	}
	b.mu.RUnlock()

	b.replayMu.Lock()
	defer b.replayMu.Unlock()
	if b.replaysStopped {
		return Replay{}, ErrClosed
	}
	if _, ok := b.replays[cfg.Name]; ok {
		return Replay{}, fmt.Errorf("%w: %s", ErrReplayExists, cfg.Name)
	}
	active := 0
	for _, r := range b.replays {
		if r.State == ReplayStarting || r.State == ReplayRunning || r.State == ReplayCancelling {
			active++
		}
	}
	if active >= b.opts.MaxReplays {
		return Replay{}, fmt.Errorf("%w: %d replays are running, the most at once; wait for one to finish or cancel one", ErrTooManyReplays, active)
	}
	r := &Replay{Name: cfg.Name, ARN: b.ReplayARN(cfg.Name), Description: cfg.Description, ArchiveARN: b.ArchiveARN(archName),
		Start: cfg.Start.UTC(), End: cfg.End.UTC(), DestinationARN: cfg.DestinationARN, FilterARNs: slices.Clone(cfg.FilterARNs),
		State: ReplayStarting, ReplayStartTime: b.now().UTC(), cancel: make(chan struct{}), cancelOnce: &sync.Once{}}
	b.replays[cfg.Name] = r
	b.wg.Add(1)
	go b.runReplay(r, archName, rules)
	return b.copyReplay(r), nil
}

func (b *Bus) copyReplay(r *Replay) Replay {
	c := *r
	c.FilterARNs = slices.Clone(r.FilterARNs)
	c.cancel, c.cancelOnce = nil, nil
	return c
}

func (b *Bus) setReplay(r *Replay, f func(*Replay)) {
	b.replayMu.Lock()
	defer b.replayMu.Unlock()
	f(r)
}

func (b *Bus) runReplay(r *Replay, archName string, only []string) {
	defer b.wg.Done()
	finish := func(state, reason string) {
		b.setReplay(r, func(r *Replay) {
			r.State, r.StateReason, r.ReplayEndTime = state, reason, b.now().UTC()
		})
	}
	select {
	case <-r.cancel:
		finish(ReplayCancelled, "cancelled before it started")
		return
	case <-b.stopReplays:
		finish(ReplayFailed, "the bus closed")
		return
	case <-time.After(b.opts.ReplayStartDelay):
	}
	b.setReplay(r, func(r *Replay) { r.State = ReplayRunning })

	b.archMu.Lock()
	a, ok := b.archives[archName]
	var evs []archivedEvent
	var err error
	if ok {
		if err = b.purgeArchiveLocked(a); err == nil {
			err = b.arch.archived(archName, func(e archivedEvent) bool {
				if !e.Time.Before(r.Start) && e.Time.Before(r.End) {
					evs = append(evs, e)
				}
				return true
			})
		}
	}
	b.archMu.Unlock()
	if !ok {
		finish(ReplayFailed, "the archive was deleted")
		return
	}
	if err != nil {
		finish(ReplayFailed, "read archive: "+err.Error())
		return
	}
	for _, e := range evs {
		select {
		case <-r.cancel:
			finish(ReplayCancelled, "cancelled")
			return
		case <-b.stopReplays:
			finish(ReplayFailed, "the bus closed")
			return
		default:
		}
		n, err := b.replayEvent(r.Name, e, only)
		if err != nil {
			finish(ReplayFailed, err.Error())
			return
		}
		b.setReplay(r, func(r *Replay) {
			r.EventsReplayed++
			r.DeliveriesQueued += n
			r.LastReplayedTime = e.Time
		})
	}
	select {
	case <-r.cancel:
		finish(ReplayCancelled, "cancelled")
	default:
		finish(ReplayCompleted, "")
	}
}

// withReplayName returns the event with "replay-name" set, as EventBridge marks
// replayed events.
func withReplayName(raw []byte, name string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	n, _ := json.Marshal(name)
	m["replay-name"] = n
	return json.Marshal(m)
}

// replayEvent queues one archived event for the matching rules among only (all if
// empty). It is not archived again and not shown on tails.
func (b *Bus) replayEvent(replay string, e archivedEvent, only []string) (int, error) {
	raw, err := withReplayName(e.Event, replay)
	if err != nil {
		return 0, fmt.Errorf("archived event %s: %w", e.EventID, err)
	}
	now := b.now().UTC()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return 0, ErrClosed
	}
	var ds []*delivery
	var targets []*rule
	for name, r := range b.rules {
		if len(only) > 0 && !slices.Contains(only, name) {
			continue
		}
		ok, err := r.pattern.Match(raw)
		if err != nil || !ok {
			continue
		}
		ds = append(ds, &delivery{Rule: name, EventID: e.EventID + replaySuffix + replay, Event: raw, ReceivedAt: now})
		targets = append(targets, r)
	}
	if len(ds) == 0 {
		return 0, nil
	}
	if err := b.store.addPending(ds); err != nil {
		return 0, fmt.Errorf("persist %d replayed deliveries: %w", len(ds), err)
	}
	for i, d := range ds {
		targets[i].push(d)
	}
	return len(ds), nil
}

// haltReplays stops the running replays (they end FAILED); Close calls it before
// waiting for its goroutines.
func (b *Bus) haltReplays() {
	b.replayMu.Lock()
	defer b.replayMu.Unlock()
	if !b.replaysStopped {
		b.replaysStopped = true
		close(b.stopReplays)
	}
}

// DescribeReplay describes one replay.
func (b *Bus) DescribeReplay(name string) (Replay, error) {
	b.replayMu.Lock()
	defer b.replayMu.Unlock()
	r, ok := b.replays[name]
	if !ok {
		return Replay{}, fmt.Errorf("%w: %s", ErrReplayNotFound, name)
	}
	return b.copyReplay(r), nil
}

// Replays lists the replays by name.
func (b *Bus) Replays() []Replay {
	b.replayMu.Lock()
	defer b.replayMu.Unlock()
	out := make([]Replay, 0, len(b.replays))
	for _, r := range b.replays {
		out = append(out, b.copyReplay(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CancelReplay cancels a STARTING or RUNNING replay: it moves to CANCELLING, then to
// CANCELLED once it stops. Any other state is ErrIllegalStatus.
func (b *Bus) CancelReplay(name string) (Replay, error) {
	b.replayMu.Lock()
	defer b.replayMu.Unlock()
	r, ok := b.replays[name]
	if !ok {
		return Replay{}, fmt.Errorf("%w: %s", ErrReplayNotFound, name)
	}
	if r.State != ReplayStarting && r.State != ReplayRunning {
		return Replay{}, fmt.Errorf("%w: replay %s is %s; only a STARTING or RUNNING replay can be cancelled", ErrIllegalStatus, name, r.State)
	}
	r.State = ReplayCancelling
	r.cancelOnce.Do(func() { close(r.cancel) })
	return b.copyReplay(r), nil
}

// Rules lists the subscribed rules by name.
func (b *Bus) Rules() []RuleInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]RuleInfo, 0, len(b.rules))
	for name, r := range b.rules {
		out = append(out, b.ruleInfo(name, r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Rule describes one rule.
func (b *Bus) Rule(name string) (RuleInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	r, ok := b.rules[name]
	if !ok {
		return RuleInfo{}, fmt.Errorf("%w: %s on event bus %s", ErrRuleNotFound, name, b.opts.Name)
	}
	return b.ruleInfo(name, r), nil
}

func (b *Bus) ruleInfo(name string, r *rule) RuleInfo {
	target := r.targetARN
	if target == "" {
		target = b.FunctionARN(name)
	}
	return RuleInfo{Name: name, ARN: b.RuleARN(name), EventBusName: b.opts.Name, EventPattern: r.sub.Pattern,
		State: "ENABLED", TargetARN: target}
}

// Archived yields the events archive name keeps, in archive (time) order, each as the
// EventBridge event JSON a replay puts back on the bus (without replay-name): the
// archive's history for an in-process consumer (devstack's in-process rebuild of a
// read model), without queueing a delivery per event. Events past the archive's
// retention are purged first, as a replay does. A missing archive is
// ErrArchiveNotFound.
func (b *Bus) Archived(name string) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		b.archMu.Lock()
		a, ok := b.archives[name]
		var err error
		if ok {
			err = b.purgeArchiveLocked(a)
		}
		b.archMu.Unlock()
		if !ok {
			yield(nil, fmt.Errorf("%w: %s", ErrArchiveNotFound, name))
			return
		}
		if err != nil {
			yield(nil, fmt.Errorf("archive %s: %w", name, err))
			return
		}
		stopped := false
		err = b.arch.archived(name, func(e archivedEvent) bool {
			stopped = !yield(e.Event, nil)
			return !stopped
		})
		if err != nil && !stopped {
			yield(nil, fmt.Errorf("read archive %s: %w", name, err))
		}
	}
}
