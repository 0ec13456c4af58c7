package eventsapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
)

const (
	arBus     = "arn:aws:events:eu-west-1:123456789012:event-bus/concerts-bus"
	arArchive = "arn:aws:events:eu-west-1:123456789012:archive/"
	arRule    = "arn:aws:events:eu-west-1:123456789012:rule/concerts-bus/"
)

// counter counts the deliveries per rule and event id.
type counter struct {
	mu  sync.Mutex
	got map[string]int // rule + "/" + event id
}

func (c *counter) target(rule string) subscription.Target {
	return func(_ context.Context, ev events.EventBridgeEvent) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.got == nil {
			c.got = map[string]int{}
		}
		c.got[rule+"/"+ev.ID]++
		return nil
	}
}

func (c *counter) total(rule string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.got {
		if len(k) > len(rule) && k[:len(rule)+1] == rule+"/" {
			n += v
		}
	}
	return n
}

type arFixture struct {
	bus    *bus.Bus
	client *eventbridge.Client
	got    *counter
}

// newArchiveFixture serves a bus with rules (name → pattern) through the SDK.
func newArchiveFixture(t *testing.T, opts bus.Options, rules map[string]string) *arFixture {
	t.Helper()
	opts.Name, opts.Account, opts.Region = "concerts-bus", "123456789012", "eu-west-1"
	opts.RetryBaseDelay, opts.RetryMaxDelay = time.Millisecond, 2*time.Millisecond
	b, err := bus.New(opts)
	require.NoError(t, err)
	f := &arFixture{bus: b, got: &counter{}}
	for name, p := range rules {
		require.NoError(t, b.Subscribe(subscription.Subscription{Name: name, Pattern: json.RawMessage(p)}, f.got.target(name)))
	}
	h := eventsapi.NewHandler(b)
	mux := http.NewServeMux()
	mux.Handle("/_aws/events", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = b.Close(context.Background())
	})
	f.client = newClient(srv.URL + "/_aws/events")
	return f
}

func (f *arFixture) put(t *testing.T, source string, at time.Time) string {
	t.Helper()
	e := reqEntry(source, "Thing", `{"n":1}`)
	if !at.IsZero() {
		e.Time = aws.Time(at)
	}
	out, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{e}})
	require.NoError(t, err)
	require.Zero(t, out.FailedEntryCount)
	return *out.Entries[0].EventId
}

func (f *arFixture) createArchive(t *testing.T, name, pattern string) {
	t.Helper()
	in := &eventbridge.CreateArchiveInput{ArchiveName: aws.String(name), EventSourceArn: aws.String(arBus)}
	if pattern != "" {
		in.EventPattern = aws.String(pattern)
	}
	_, err := f.client.CreateArchive(context.Background(), in)
	require.NoError(t, err)
}

func (f *arFixture) eventCount(t *testing.T, name string) int64 {
	t.Helper()
	d, err := f.client.DescribeArchive(context.Background(), &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(name)})
	require.NoError(t, err)
	return d.EventCount
}

// replay starts a replay of archive over [from, to) and waits until it is done.
func (f *arFixture) replay(t *testing.T, name, archive string, from, to time.Time, filter ...string) *eventbridge.DescribeReplayOutput {
	t.Helper()
	_, err := f.client.StartReplay(context.Background(), &eventbridge.StartReplayInput{
		ReplayName: aws.String(name), EventSourceArn: aws.String(arArchive + archive),
		EventStartTime: aws.Time(from), EventEndTime: aws.Time(to),
		Destination: &types.ReplayDestination{Arn: aws.String(arBus), FilterArns: filter},
	})
	require.NoError(t, err)
	var d *eventbridge.DescribeReplayOutput
	waitFor(t, "replay "+name+" to end", func() bool {
		d, err = f.client.DescribeReplay(context.Background(), &eventbridge.DescribeReplayInput{ReplayName: aws.String(name)})
		require.NoError(t, err)
		return d.State == types.ReplayStateCompleted || d.State == types.ReplayStateCancelled || d.State == types.ReplayStateFailed
	})
	return d
}

func TestArchiveTakesEventsMatchingItsPattern(t *testing.T) {
	tests := []struct {
		name, archive, pattern string
		want                   int64
	}{
		{"no pattern archives every event", "all", "", 3},
		{"source pattern", "a", `{"source":["a"]}`, 2},
		{"prefix pattern", "b", `{"source":[{"prefix":"b"}]}`, 1},
		{"nothing matches", "none", `{"source":["zzz"]}`, 0},
	}
	f := newArchiveFixture(t, bus.Options{}, nil)
	for _, tt := range tests {
		f.createArchive(t, tt.archive, tt.pattern)
	}
	f.put(t, "a", time.Time{})
	f.put(t, "a", time.Time{})
	f.put(t, "b", time.Time{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.eventCount(t, tt.archive)
			require.Equalf(t, tt.want, got, "got %d archived events, want %d", got, tt.want)
		})
	}
}

func TestArchiveIsDurableAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	f := newArchiveFixture(t, bus.Options{DataDir: dir}, nil)
	f.createArchive(t, "all", "")
	id := f.put(t, "a", time.Now().Add(-time.Minute))
	require.NoError(t, f.bus.Close(context.Background()))

	g := newArchiveFixture(t, bus.Options{DataDir: dir}, map[string]string{"r1": `{"source":["a"]}`})
	list, err := g.client.ListArchives(context.Background(), &eventbridge.ListArchivesInput{})
	require.NoError(t, err)
	require.Len(t, list.Archives, 1)
	require.Equal(t, "all", *list.Archives[0].ArchiveName)
	require.Equal(t, int64(1), g.eventCount(t, "all"))
	d := g.replay(t, "after-restart", "all", time.Now().Add(-time.Hour), time.Now())
	require.Equal(t, types.ReplayStateCompleted, d.State)
	waitFor(t, "the replayed event", func() bool { return g.got.total("r1") == 1 })
	g.got.mu.Lock()
	defer g.got.mu.Unlock()
	require.Equalf(t, 1, g.got.got["r1/"+id], "got %v, want the archived event %s once", g.got.got, id)
}

func TestReplayedEventsCarryReplayName(t *testing.T) {
	// Rules see the replayed envelope; only the replay's events have replay-name.
	f := newArchiveFixture(t, bus.Options{}, map[string]string{
		"live":       `{"source":["a"]}`,
		"replay-one": `{"source":["a"],"replay-name":["one"]}`,
		"replay-two": `{"source":["a"],"replay-name":["two"]}`,
	})
	f.createArchive(t, "all", "")
	start := time.Now().Add(-time.Minute)
	f.put(t, "a", time.Time{})
	waitFor(t, "live delivery", func() bool { return f.got.total("live") == 1 })
	require.Zero(t, f.got.total("replay-one"), "a live event has no replay-name")
	f.replay(t, "one", "all", start, time.Now().Add(time.Second))
	waitFor(t, "replayed delivery", func() bool { return f.got.total("replay-one") == 1 })
	tests := []struct {
		rule string
		want int
	}{{"live", 2}, {"replay-one", 1}, {"replay-two", 0}}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			waitFor(t, "deliveries", func() bool { return f.got.total(tt.rule) >= tt.want })
			time.Sleep(20 * time.Millisecond)
			require.Equalf(t, tt.want, f.got.total(tt.rule), "got %d deliveries, want %d", f.got.total(tt.rule), tt.want)
		})
	}
}

func TestReplayDestinationFilterArns(t *testing.T) {
	rules := map[string]string{"r1": `{"source":["a"]}`, "r2": `{"source":["a"]}`, "r3": `{"source":["b"]}`}
	tests := []struct {
		name   string
		filter []string
		want   map[string]int
	}{
		{"empty FilterArns: every rule whose pattern matches", nil, map[string]int{"r1": 1, "r2": 1, "r3": 0}},
		{"one rule", []string{arRule + "r1"}, map[string]int{"r1": 1, "r2": 0, "r3": 0}},
		{"two rules", []string{arRule + "r1", arRule + "r2"}, map[string]int{"r1": 1, "r2": 1, "r3": 0}},
		{"a rule whose pattern does not match", []string{arRule + "r3"}, map[string]int{"r1": 0, "r2": 0, "r3": 0}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newArchiveFixture(t, bus.Options{}, rules)
			f.createArchive(t, "all", "")
			start := time.Now().Add(-time.Minute)
			f.put(t, "a", time.Time{})
			waitFor(t, "live deliveries", func() bool { return f.got.total("r1") == 1 && f.got.total("r2") == 1 })
			f.replay(t, "rp"+string(rune('0'+i)), "all", start, time.Now().Add(time.Second), tt.filter...)
			time.Sleep(50 * time.Millisecond)
			for rule, want := range tt.want {
				live := 0
				if rule != "r3" {
					live = 1
				}
				waitFor(t, "replayed deliveries", func() bool { return f.got.total(rule) >= live+want })
				got := f.got.total(rule) - live
				require.Equalf(t, want, got, "rule %s: got %d replayed deliveries, want %d", rule, got, want)
			}
		})
	}
}

func TestReplayedEventsAreNotArchivedAgain(t *testing.T) {
	f := newArchiveFixture(t, bus.Options{}, map[string]string{"r1": `{"source":["a"]}`})
	f.createArchive(t, "all", "")
	f.createArchive(t, "other", `{"source":["a"]}`)
	start := time.Now().Add(-time.Minute)
	f.put(t, "a", time.Time{})
	f.put(t, "a", time.Time{})
	f.replay(t, "again", "all", start, time.Now().Add(time.Second))
	waitFor(t, "replayed deliveries", func() bool { return f.got.total("r1") == 4 })
	for _, name := range []string{"all", "other"} {
		got := f.eventCount(t, name)
		require.Equalf(t, int64(2), got, "archive %s: got %d events, want 2 (replays are not archived)", name, got)
	}
}

func TestReplaySelectsByEventTime(t *testing.T) {
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	tests := []struct {
		name     string
		from, to time.Duration
		want     int
	}{
		{"whole history", -time.Minute, 50 * time.Minute, 3},
		{"start is inclusive", 10 * time.Minute, 50 * time.Minute, 2},
		{"end is exclusive", 0, 20 * time.Minute, 2},
		{"middle event only", 5 * time.Minute, 15 * time.Minute, 1},
		{"before the first event", -10 * time.Minute, -time.Minute, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newArchiveFixture(t, bus.Options{}, map[string]string{"r1": `{"source":["a"]}`})
			f.createArchive(t, "all", "")
			for _, at := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute} {
				f.put(t, "a", base.Add(at))
			}
			waitFor(t, "live deliveries", func() bool { return f.got.total("r1") == 3 })
			f.replay(t, "w"+string(rune('0'+i)), "all", base.Add(tt.from), base.Add(tt.to))
			waitFor(t, "replayed deliveries", func() bool { return f.got.total("r1") >= 3+tt.want })
			time.Sleep(50 * time.Millisecond) // room for a wrong extra delivery
			got := f.got.total("r1") - 3
			require.Equalf(t, tt.want, got, "got %d replayed events, want %d", got, tt.want)
		})
	}
}

func TestReplayRetentionDays(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	f := newArchiveFixture(t, bus.Options{Now: func() time.Time { return clock() }}, nil)
	_, err := f.client.CreateArchive(context.Background(), &eventbridge.CreateArchiveInput{ArchiveName: aws.String("week"),
		EventSourceArn: aws.String(arBus), RetentionDays: aws.Int32(7)})
	require.NoError(t, err)
	f.createArchive(t, "forever", "") // RetentionDays 0
	f.put(t, "a", now.Add(-10*24*time.Hour))
	f.put(t, "a", now.Add(-time.Hour))
	tests := []struct {
		archive string
		want    int64
	}{{"week", 1}, {"forever", 2}}
	for _, tt := range tests {
		t.Run(tt.archive, func(t *testing.T) {
			got := f.eventCount(t, tt.archive)
			require.Equalf(t, tt.want, got, "got %d events, want %d", got, tt.want)
		})
	}
}

func TestReplayStateTransitions(t *testing.T) {
	t.Run("STARTING, RUNNING, COMPLETED", func(t *testing.T) {
		f := newArchiveFixture(t, bus.Options{ReplayStartDelay: 100 * time.Millisecond}, map[string]string{"r1": `{"source":["a"]}`})
		f.createArchive(t, "all", "")
		f.put(t, "a", time.Now().Add(-time.Minute))
		out, err := f.client.StartReplay(context.Background(), &eventbridge.StartReplayInput{
			ReplayName: aws.String("s"), EventSourceArn: aws.String(arArchive + "all"),
			EventStartTime: aws.Time(time.Now().Add(-time.Hour)), EventEndTime: aws.Time(time.Now()),
			Destination: &types.ReplayDestination{Arn: aws.String(arBus)},
		})
		require.NoError(t, err)
		require.Equalf(t, types.ReplayStateStarting, out.State, "got %s, want STARTING", out.State)
		var d *eventbridge.DescribeReplayOutput
		waitFor(t, "COMPLETED", func() bool {
			d, err = f.client.DescribeReplay(context.Background(), &eventbridge.DescribeReplayInput{ReplayName: aws.String("s")})
			require.NoError(t, err)
			return d.State == types.ReplayStateCompleted
		})
		require.NotNil(t, d.ReplayEndTime)
		require.NotNil(t, d.EventLastReplayedTime)
		_, err = f.client.CancelReplay(context.Background(), &eventbridge.CancelReplayInput{ReplayName: aws.String("s")})
		require.Equalf(t, "IllegalStatusException", apiCode(t, err), "got %v, want IllegalStatusException for a COMPLETED replay", err)
		list, err := f.client.ListReplays(context.Background(), &eventbridge.ListReplaysInput{State: types.ReplayStateCompleted})
		require.NoError(t, err)
		require.Len(t, list.Replays, 1)
	})
	t.Run("CANCELLING, CANCELLED", func(t *testing.T) {
		f := newArchiveFixture(t, bus.Options{ReplayStartDelay: time.Hour}, nil)
		f.createArchive(t, "all", "")
		_, err := f.client.StartReplay(context.Background(), &eventbridge.StartReplayInput{
			ReplayName: aws.String("c"), EventSourceArn: aws.String(arArchive + "all"),
			EventStartTime: aws.Time(time.Now().Add(-time.Hour)), EventEndTime: aws.Time(time.Now()),
			Destination: &types.ReplayDestination{Arn: aws.String(arBus)},
		})
		require.NoError(t, err)
		c, err := f.client.CancelReplay(context.Background(), &eventbridge.CancelReplayInput{ReplayName: aws.String("c")})
		require.NoError(t, err)
		require.Equalf(t, types.ReplayStateCancelling, c.State, "got %s, want CANCELLING", c.State)
		waitFor(t, "CANCELLED", func() bool {
			d, err := f.client.DescribeReplay(context.Background(), &eventbridge.DescribeReplayInput{ReplayName: aws.String("c")})
			require.NoError(t, err)
			return d.State == types.ReplayStateCancelled
		})
		_, err = f.client.CancelReplay(context.Background(), &eventbridge.CancelReplayInput{ReplayName: aws.String("c")})
		require.Equalf(t, "IllegalStatusException", apiCode(t, err), "got %v, want IllegalStatusException for a CANCELLED replay", err)
	})
}

func TestArchiveAndReplayErrors(t *testing.T) {
	f := newArchiveFixture(t, bus.Options{ReplayStartDelay: time.Hour, MaxReplays: 1}, map[string]string{"r1": `{"source":["a"]}`})
	ctx := context.Background()
	f.createArchive(t, "all", "")
	now := time.Now()
	start := func(name, archive string, from, to time.Time, dest string, filter ...string) error {
		_, err := f.client.StartReplay(ctx, &eventbridge.StartReplayInput{
			ReplayName: aws.String(name), EventSourceArn: aws.String(arArchive + archive),
			EventStartTime: aws.Time(from), EventEndTime: aws.Time(to),
			Destination: &types.ReplayDestination{Arn: aws.String(dest), FilterArns: filter},
		})
		return err
	}
	require.NoError(t, start("running", "all", now.Add(-time.Hour), now, arBus))
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"create an existing archive", func() error {
			_, err := f.client.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("all"), EventSourceArn: aws.String(arBus)})
			return err
		}, "ResourceAlreadyExistsException"},
		{"archive of another bus", func() error {
			_, err := f.client.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("x"), EventSourceArn: aws.String(arBus + "-other")})
			return err
		}, "ResourceNotFoundException"},
		{"invalid archive pattern", func() error {
			_, err := f.client.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("x"), EventSourceArn: aws.String(arBus), EventPattern: aws.String(`{"source":"a"}`)})
			return err
		}, "InvalidEventPatternException"},
		{"invalid archive name", func() error {
			_, err := f.client.CreateArchive(ctx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("a/b"), EventSourceArn: aws.String(arBus)})
			return err
		}, "ValidationException"},
		{"describe a missing archive", func() error {
			_, err := f.client.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("missing")})
			return err
		}, "ResourceNotFoundException"},
		{"update a missing archive", func() error {
			_, err := f.client.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("missing")})
			return err
		}, "ResourceNotFoundException"},
		{"update with an invalid pattern", func() error {
			_, err := f.client.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("all"), EventPattern: aws.String(`[]`)})
			return err
		}, "InvalidEventPatternException"},
		{"delete a missing archive", func() error {
			_, err := f.client.DeleteArchive(ctx, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String("missing")})
			return err
		}, "ResourceNotFoundException"},
		{"replay a missing archive", func() error { return start("x", "missing", now.Add(-time.Hour), now, arBus) }, "ResourceNotFoundException"},
		{"replay to an unknown rule", func() error { return start("x", "all", now.Add(-time.Hour), now, arBus, arRule+"nope") }, "ResourceNotFoundException"},
		{"replay end before start", func() error { return start("x", "all", now, now.Add(-time.Hour), arBus) }, "ValidationException"},
		{"replay to another bus", func() error { return start("x", "all", now.Add(-time.Hour), now, arBus+"-other") }, "ValidationException"},
		{"replay name taken", func() error { return start("running", "all", now.Add(-time.Hour), now, arBus) }, "ResourceAlreadyExistsException"},
		{"too many replays at once", func() error { return start("second", "all", now.Add(-time.Hour), now, arBus) }, "LimitExceededException"},
		{"describe a missing replay", func() error {
			_, err := f.client.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("missing")})
			return err
		}, "ResourceNotFoundException"},
		{"cancel a missing replay", func() error {
			_, err := f.client.CancelReplay(ctx, &eventbridge.CancelReplayInput{ReplayName: aws.String("missing")})
			return err
		}, "ResourceNotFoundException"},
		{"describe a missing rule", func() error {
			_, err := f.client.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("missing")})
			return err
		}, "ResourceNotFoundException"},
		{"rules of another bus", func() error {
			_, err := f.client.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("other")})
			return err
		}, "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Errorf(t, err, "got no error, want %s", tt.want)
			require.Equalf(t, tt.want, apiCode(t, err), "got %v, want %s", err, tt.want)
		})
	}
}

func TestArchiveLifecycle(t *testing.T) {
	f := newArchiveFixture(t, bus.Options{}, nil)
	ctx := context.Background()
	f.createArchive(t, "all", "")
	_, err := f.client.UpdateArchive(ctx, &eventbridge.UpdateArchiveInput{ArchiveName: aws.String("all"),
		Description: aws.String("d"), EventPattern: aws.String(`{"source":["a"]}`), RetentionDays: aws.Int32(3)})
	require.NoError(t, err)
	f.put(t, "a", time.Time{})
	f.put(t, "b", time.Time{})
	d, err := f.client.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("all")})
	require.NoError(t, err)
	require.Equal(t, arArchive+"all", *d.ArchiveArn)
	require.Equal(t, arBus, *d.EventSourceArn)
	require.Equal(t, "d", *d.Description)
	require.Equal(t, int32(3), *d.RetentionDays)
	require.Equal(t, types.ArchiveStateEnabled, d.State)
	require.Equalf(t, int64(1), d.EventCount, "got %d events, want 1 after the pattern was narrowed", d.EventCount)
	_, err = f.client.DeleteArchive(ctx, &eventbridge.DeleteArchiveInput{ArchiveName: aws.String("all")})
	require.NoError(t, err)
	list, err := f.client.ListArchives(ctx, &eventbridge.ListArchivesInput{})
	require.NoError(t, err)
	require.Empty(t, list.Archives)
}

func TestRulesAsOnAWS(t *testing.T) {
	b, err := bus.New(bus.Options{Name: "concerts-bus", Account: "123456789012", Region: "eu-west-1"})
	require.NoError(t, err)
	noop := func(context.Context, events.EventBridgeEvent) error { return nil }
	require.NoError(t, b.SubscribeFunction(subscription.Subscription{Name: "projections-all", Pattern: json.RawMessage(`{"source":["concerts"]}`)}, noop,
		"arn:aws:lambda:eu-west-1:123456789012:function:projections-consumer"))
	require.NoError(t, b.Subscribe(subscription.Subscription{Name: "billing", Pattern: json.RawMessage(`{"source":["x"]}`)}, noop))
	srv := httptest.NewServer(eventsapi.NewHandler(b))
	t.Cleanup(func() { srv.Close(); _ = b.Close(context.Background()) })
	c := newClient(srv.URL)
	ctx := context.Background()

	rules, err := c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("concerts-bus")})
	require.NoError(t, err)
	var names []string
	for _, r := range rules.Rules {
		names = append(names, *r.Name)
	}
	require.Equal(t, []string{"billing", "projections-all"}, names)
	page, err := c.ListRules(ctx, &eventbridge.ListRulesInput{Limit: aws.Int32(1)})
	require.NoError(t, err)
	require.Len(t, page.Rules, 1)
	require.NotNil(t, page.NextToken)
	page, err = c.ListRules(ctx, &eventbridge.ListRulesInput{Limit: aws.Int32(1), NextToken: page.NextToken})
	require.NoError(t, err)
	require.Equal(t, "projections-all", *page.Rules[0].Name)
	require.Nil(t, page.NextToken)

	tests := []struct{ rule, wantTarget string }{
		{"projections-all", "arn:aws:lambda:eu-west-1:123456789012:function:projections-consumer"},
		{"billing", "arn:aws:lambda:eu-west-1:123456789012:function:billing"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			d, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(tt.rule)})
			require.NoError(t, err)
			require.Equal(t, arRule+tt.rule, *d.Arn)
			require.Equal(t, "concerts-bus", *d.EventBusName)
			require.Equal(t, types.RuleStateEnabled, d.State)
			require.NotEmpty(t, *d.EventPattern)
			ts, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(tt.rule)})
			require.NoError(t, err)
			require.Len(t, ts.Targets, 1)
			require.Equalf(t, tt.wantTarget, *ts.Targets[0].Arn, "got target %s, want %s", *ts.Targets[0].Arn, tt.wantTarget)
		})
	}
}
