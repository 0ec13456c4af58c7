package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/concertsys/platform/subscription"
	"github.com/stretchr/testify/require"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// recorder is a target that remembers every event it got, by id.
type recorder struct {
	mu     sync.Mutex
	seen   map[string]int
	events []events.EventBridgeEvent
	notify chan struct{}
}

func newRecorder() *recorder {
	return &recorder{seen: make(map[string]int), notify: make(chan struct{}, 1)}
}

func (r *recorder) target(_ context.Context, ev events.EventBridgeEvent) error {
	r.mu.Lock()
	r.seen[ev.ID]++
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func (r *recorder) has(ids ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if r.seen[id] == 0 {
			return false
		}
	}
	return true
}

func (r *recorder) snapshot() []events.EventBridgeEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.EventBridgeEvent(nil), r.events...)
}

// waitFor polls cond until it holds or the deadline passes; deliveries are
// asynchronous, so tests wait for an outcome instead of sleeping a fixed time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventuallyf(t, cond, 10*time.Second, 2*time.Millisecond, "timed out waiting for %s", what)
}

func fastOptions(dataDir string) Options {
	return Options{
		Name: "test-bus", Account: "123456789012", Region: "eu-west-1", DataDir: dataDir,
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond,
	}
}

func newBus(t *testing.T, opts Options) *Bus {
	t.Helper()
	b, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

func entry(source, detailType, detail string) Entry {
	return Entry{Source: source, DetailType: detailType, Detail: json.RawMessage(detail)}
}

func putOK(t *testing.T, b *Bus, entries ...Entry) []string {
	t.Helper()
	res, err := b.Put(context.Background(), entries)
	require.NoError(t, err)
	ids := make([]string, len(res))
	for i, r := range res {
		require.Falsef(t, r.Failed(), "entry %d: got error %s %s, want accepted", i, r.ErrorCode, r.ErrorMessage)
		ids[i] = r.EventID
	}
	return ids
}

func sub(name, pattern string) subscription.Subscription {
	return subscription.Subscription{Name: name, Pattern: json.RawMessage(pattern)}
}

func TestBackoff(t *testing.T) {
	low := func(int64) int64 { return 0 }
	high := func(k int64) int64 { return k - 1 }
	base, max := 100*time.Millisecond, time.Second
	tests := []struct {
		attempt           int
		wantLow, wantHigh time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, 500 * time.Millisecond, time.Second}, // capped
		{50, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("attempt ", tt.attempt), func(t *testing.T) {
			opts := Options{RetryBaseDelay: base, RetryMaxDelay: max}
			gotLow := opts.retryDelay(tt.attempt, low)
			gotHigh := opts.retryDelay(tt.attempt, high)
			require.Equalf(t, tt.wantLow, gotLow, "low jitter: got %s want %s", gotLow, tt.wantLow)
			require.Equalf(t, tt.wantHigh, gotHigh, "high jitter: got %s want %s", gotHigh, tt.wantHigh)
		})
	}
}

func TestPutValidation(t *testing.T) {
	b := newBus(t, fastOptions(""))
	tests := []struct {
		name     string
		entry    Entry
		wantCode string
	}{
		{"valid", entry("concerts", "ConcertScheduled", `{"a":1}`), ""},
		{"valid with spaces", entry("concerts", "ConcertScheduled", " \n{\"a\":1} "), ""},
		{"missing source", entry("", "ConcertScheduled", `{}`), ErrorCodeInvalidArgument},
		{"missing detail-type", entry("concerts", "", `{}`), ErrorCodeInvalidArgument},
		{"missing detail", entry("concerts", "ConcertScheduled", ``), ErrorCodeInvalidArgument},
		{"detail not JSON", entry("concerts", "ConcertScheduled", `{"a":`), ErrorCodeMalformedDetail},
		{"detail an array", entry("concerts", "ConcertScheduled", `[1,2]`), ErrorCodeMalformedDetail},
		{"detail a string", entry("concerts", "ConcertScheduled", `"x"`), ErrorCodeMalformedDetail},
		{"detail two objects", entry("concerts", "ConcertScheduled", `{}{}`), ErrorCodeMalformedDetail},
		{"aws source reserved", entry("aws.ec2", "X", `{}`), ErrorCodeNotAuthorizedSrc},
		{"source too long", entry(strings.Repeat("s", MaxSourceLen+1), "X", `{}`), ErrorCodeInvalidArgument},
		{"detail-type too long", entry("s", strings.Repeat("d", MaxDetailTypeLen+1), `{}`), ErrorCodeInvalidArgument},
		{"too many resources", Entry{Source: "s", DetailType: "d", Detail: json.RawMessage(`{}`), Resources: make([]string, MaxResources+1)}, ErrorCodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each bad entry sits between two good ones: results must stay in order.
			res, err := b.Put(context.Background(), []Entry{entry("s", "d", `{}`), tt.entry, entry("s", "d", `{}`)})
			require.NoError(t, err)
			require.Len(t, res, 3)
			require.Falsef(t, res[0].Failed(), "first entry: got %+v, want accepted", res[0])
			require.Falsef(t, res[2].Failed(), "last entry: got %+v, want accepted", res[2])
			require.Equalf(t, tt.wantCode, res[1].ErrorCode, "got %+v, want code %q", res[1], tt.wantCode)
			if tt.wantCode == "" {
				require.Regexp(t, uuidRE, res[1].EventID)
			} else {
				require.Empty(t, res[1].EventID)
				require.NotEmpty(t, res[1].ErrorMessage)
			}
		})
	}
}

func TestPutLimits(t *testing.T) {
	b := newBus(t, fastOptions(""))
	big := `{"x":"` + strings.Repeat("a", MaxEntriesSize/2) + `"}`
	tests := []struct {
		name    string
		entries []Entry
		wantErr error
	}{
		{"no entries", nil, ErrNoEntries},
		{"eleven entries", make([]Entry, 11), ErrTooManyEntries},
		{"over 1 MB in total", []Entry{entry("s", "d", big), entry("s", "d", big)}, ErrEntriesTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Put(context.Background(), tt.entries)
			require.ErrorIsf(t, err, tt.wantErr, "got %v, want %v", err, tt.wantErr)
		})
	}
	t.Run("one entry just under 1 MB is fine", func(t *testing.T) {
		d := `{"x":"` + strings.Repeat("a", MaxEntriesSize-100) + `"}`
		putOK(t, b, entry("s", "d", d))
	})
}

func TestEntrySize(t *testing.T) {
	tests := []struct {
		name  string
		entry Entry
		want  int
	}{
		{"plain", entry("ab", "cde", `{}`), 7},
		{"utf-8 bytes", entry("é", "d", `{"k":"ü"}`), 2 + 1 + 10},
		{"time counts 14", Entry{Source: "s", DetailType: "d", Detail: json.RawMessage(`{}`), Time: time.Unix(1, 0)}, 18},
		{"resources", Entry{Source: "s", DetailType: "d", Detail: json.RawMessage(`{}`), Resources: []string{"abc", "de"}}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EntrySize(tt.entry)
			require.Equalf(t, tt.want, got, "got %d want %d", got, tt.want)
		})
	}
}

func TestDeliveryEnvelopeAndRouting(t *testing.T) {
	b := newBus(t, fastOptions(""))
	scheduled, sold, all := newRecorder(), newRecorder(), newRecorder()
	require.NoError(t, b.Subscribe(sub("scheduled", `{"detail-type":["ConcertScheduled"]}`), scheduled.target))
	require.NoError(t, b.Subscribe(sub("sold", `{"source":["concerts"],"detail":{"data":{"quantity":[{"numeric":[">",2]}]}}}`), sold.target))
	require.NoError(t, b.Subscribe(sub("all-concerts", `{"source":["concerts"]}`), all.target))

	when := time.Date(2026, 5, 1, 20, 30, 15, 999, time.UTC)
	ids := putOK(t, b,
		Entry{Source: "concerts", DetailType: "ConcertScheduled", Detail: json.RawMessage(`{"data":{}}`), Time: when, Resources: []string{"arn:x"}},
		entry("concerts", "TicketsSold", `{"data":{"quantity":3}}`),
		entry("concerts", "TicketsSold", `{"data":{"quantity":1}}`),
		entry("other", "ConcertScheduled", `{}`),
	)
	waitFor(t, "routing", func() bool {
		return scheduled.has(ids[0], ids[3]) && sold.has(ids[1]) && all.has(ids[0], ids[1], ids[2])
	})
	require.NoError(t, b.Close(context.Background()))

	tests := []struct {
		name    string
		rec     *recorder
		wantIDs []string
	}{
		{"by detail-type", scheduled, []string{ids[0], ids[3]}},
		{"by numeric detail", sold, []string{ids[1]}},
		{"by source", all, []string{ids[0], ids[1], ids[2]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, ev := range tt.rec.snapshot() {
				got = append(got, ev.ID)
			}
			require.ElementsMatchf(t, tt.wantIDs, got, "got %v want %v", got, tt.wantIDs)
		})
	}

	t.Run("envelope", func(t *testing.T) {
		var ev events.EventBridgeEvent
		for _, e := range scheduled.snapshot() {
			if e.ID == ids[0] {
				ev = e
			}
		}
		require.Equal(t, "0", ev.Version)
		require.Regexp(t, uuidRE, ev.ID)
		require.Equal(t, "ConcertScheduled", ev.DetailType)
		require.Equal(t, "concerts", ev.Source)
		require.Equal(t, "123456789012", ev.AccountID)
		require.Equal(t, "eu-west-1", ev.Region)
		require.Equal(t, when.Truncate(time.Second), ev.Time)
		require.Equal(t, []string{"arn:x"}, ev.Resources)
		require.JSONEq(t, `{"data":{}}`, string(ev.Detail))
		raw, err := MarshalEvent(ev)
		require.NoError(t, err)
		require.Contains(t, string(raw), `"time":"2026-05-01T20:30:15Z"`)
	})
	t.Run("resources default to an empty array", func(t *testing.T) {
		for _, ev := range all.snapshot() {
			if ev.ID == ids[1] {
				raw, err := MarshalEvent(ev)
				require.NoError(t, err)
				require.Contains(t, string(raw), `"resources":[]`)
			}
		}
	})
}

func TestSubscribeErrors(t *testing.T) {
	b := newBus(t, fastOptions(""))
	rec := newRecorder()
	require.NoError(t, b.Subscribe(sub("taken", `{"source":["x"]}`), rec.target))
	tests := []struct {
		name    string
		sub     subscription.Subscription
		target  subscription.Target
		wantErr error
	}{
		{"empty name", sub("", `{"source":["y"]}`), rec.target, ErrInvalidRule},
		{"nil target", sub("r", `{"source":["y"]}`), nil, ErrInvalidRule},
		{"invalid pattern", sub("r", `{"source":"x"}`), rec.target, ErrInvalidRule},
		{"not JSON", sub("r", `{`), rec.target, ErrInvalidRule},
		{"duplicate", sub("taken", `{"source":["y"]}`), rec.target, ErrDuplicateRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Subscribe(tt.sub, tt.target)
			require.ErrorIsf(t, err, tt.wantErr, "got %v want %v", err, tt.wantErr)
		})
	}
	require.NoError(t, b.Close(context.Background()))
	require.ErrorIs(t, b.Subscribe(sub("late", `{"source":["y"]}`), rec.target), ErrClosed)
	_, err := b.Put(context.Background(), []Entry{entry("s", "d", `{}`)})
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, b.Close(context.Background()), "second Close is a no-op")
}

// flaky fails each event's first failures[id] attempts, recording attempt times.
type flaky struct {
	mu       sync.Mutex
	failFor  int
	attempts map[string][]time.Time
	panicky  bool
}

func (f *flaky) target(_ context.Context, ev events.EventBridgeEvent) error {
	f.mu.Lock()
	f.attempts[ev.ID] = append(f.attempts[ev.ID], time.Now())
	n := len(f.attempts[ev.ID])
	f.mu.Unlock()
	if n <= f.failFor {
		if f.panicky {
			panic("boom")
		}
		return fmt.Errorf("attempt %d fails", n)
	}
	return nil
}

func (f *flaky) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.attempts[id])
}

func TestRetriesWithBackoff(t *testing.T) {
	opts := fastOptions("")
	opts.RetryBaseDelay = 20 * time.Millisecond
	opts.RetryMaxDelay = 40 * time.Millisecond
	b := newBus(t, opts)
	f := &flaky{failFor: 3, attempts: map[string][]time.Time{}}
	require.NoError(t, b.Subscribe(sub("flaky", `{"source":["s"]}`), f.target))
	id := putOK(t, b, entry("s", "d", `{}`))[0]
	waitFor(t, "four attempts", func() bool { return f.count(id) == 4 })
	waitFor(t, "delivered stat", func() bool { return b.Stats().Delivered == 1 })

	f.mu.Lock()
	times := f.attempts[id]
	f.mu.Unlock()
	// Minimum gap before retry n is half the exponential delay (equal jitter), capped.
	wantMin := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}
	for i, min := range wantMin {
		gap := times[i+1].Sub(times[i])
		require.GreaterOrEqualf(t, gap, min, "gap before attempt %d: got %s, want >= %s", i+2, gap, min)
	}
	st := b.Stats()
	require.Equal(t, uint64(3), st.Failed)
	require.Equal(t, uint64(0), st.DeadLettered)
}

func TestDeadLetters(t *testing.T) {
	tests := []struct {
		name       string
		panicky    bool
		wantReason string
		wantErr    string
	}{
		{"errors", false, ReasonMaxAttempts, "attempt 3 fails"},
		{"panics are failures", true, ReasonMaxAttempts, "target panicked: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, fastOptions(""))
			f := &flaky{failFor: 1 << 30, attempts: map[string][]time.Time{}, panicky: tt.panicky}
			s := sub("doomed", `{"source":["s"]}`)
			s.MaxAttempts = 3
			require.NoError(t, b.Subscribe(s, f.target))
			id := putOK(t, b, entry("s", "d", `{"n":1}`))[0]

			var dls []DeadLetter
			waitFor(t, "dead letter", func() bool {
				var err error
				dls, err = b.DeadLetters(context.Background())
				require.NoError(t, err)
				return len(dls) == 1
			})
			dl := dls[0]
			require.Equal(t, "doomed", dl.Rule)
			require.Equal(t, id, dl.Event.ID)
			require.JSONEq(t, `{"n":1}`, string(dl.Event.Detail))
			require.Equal(t, 3, dl.Attempts)
			require.Equal(t, tt.wantReason, dl.Reason)
			require.Equal(t, tt.wantErr, dl.LastError)
			require.False(t, dl.DeadLetteredAt.IsZero())
			require.Equal(t, 3, f.count(id), "no attempt after dead-lettering")
		})
	}
}

func TestDeadLetterAfterMaxEventAge(t *testing.T) {
	var offset atomic.Int64
	opts := fastOptions("")
	opts.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	b := newBus(t, opts)
	f := &flaky{failFor: 1 << 30, attempts: map[string][]time.Time{}}
	s := sub("aging", `{"source":["s"]}`)
	s.MaxAttempts = 1000
	s.MaxEventAge = time.Hour
	require.NoError(t, b.Subscribe(s, f.target))
	id := putOK(t, b, entry("s", "d", `{}`))[0]
	waitFor(t, "a few attempts", func() bool { return f.count(id) >= 2 })
	offset.Store(int64(2 * time.Hour))

	var dls []DeadLetter
	waitFor(t, "dead letter by age", func() bool {
		dls, _ = b.DeadLetters(context.Background())
		return len(dls) == 1
	})
	require.Equal(t, ReasonMaxEventAge, dls[0].Reason)
	require.Less(t, dls[0].Attempts, 1000)
}

func TestRedrive(t *testing.T) {
	b := newBus(t, fastOptions(""))
	var broken atomic.Bool
	broken.Store(true)
	rec := newRecorder()
	target := func(ctx context.Context, ev events.EventBridgeEvent) error {
		if broken.Load() {
			return errors.New("downstream is down")
		}
		return rec.target(ctx, ev)
	}
	s := sub("fixable", `{"source":["s"]}`)
	s.MaxAttempts = 2
	require.NoError(t, b.Subscribe(s, target))
	ids := putOK(t, b, entry("s", "d", `{"n":1}`), entry("s", "d", `{"n":2}`), entry("s", "d", `{"n":3}`))
	waitFor(t, "three dead letters", func() bool {
		dls, _ := b.DeadLetters(context.Background())
		return len(dls) == 3
	})
	dls, err := b.DeadLetters(context.Background())
	require.NoError(t, err)
	broken.Store(false)

	t.Run("unknown id moves nothing", func(t *testing.T) {
		n, err := b.Redrive(context.Background(), dls[0].ID, "dl-nope")
		require.ErrorIs(t, err, ErrDeadLetterMissing)
		require.Zero(t, n)
		left, _ := b.DeadLetters(context.Background())
		require.Len(t, left, 3)
	})
	t.Run("one by id", func(t *testing.T) {
		n, err := b.Redrive(context.Background(), dls[0].ID, dls[0].ID)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		waitFor(t, "redriven delivery", func() bool { return rec.has(dls[0].Event.ID) })
		left, _ := b.DeadLetters(context.Background())
		require.Len(t, left, 2)
	})
	t.Run("all the rest", func(t *testing.T) {
		n, err := b.Redrive(context.Background())
		require.NoError(t, err)
		require.Equal(t, 2, n)
		waitFor(t, "all delivered", func() bool { return rec.has(ids...) })
		left, _ := b.DeadLetters(context.Background())
		require.Empty(t, left)
	})
}

func TestRulesDoNotBlockEachOther(t *testing.T) {
	b := newBus(t, fastOptions(""))
	release := make(chan struct{})
	stuck := func(ctx context.Context, _ events.EventBridgeEvent) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	defer close(release)
	rec := newRecorder()
	require.NoError(t, b.Subscribe(sub("stuck", `{"source":["s"]}`), stuck))
	require.NoError(t, b.Subscribe(sub("healthy", `{"source":["s"]}`), rec.target))
	var ids []string
	for range 5 {
		ids = append(ids, putOK(t, b, entry("s", "d", `{}`), entry("s", "d", `{}`))...)
	}
	waitFor(t, "healthy rule gets everything while the other is stuck", func() bool { return rec.has(ids...) })
}

func TestAtLeastOnceUnderFailures(t *testing.T) {
	b := newBus(t, fastOptions(""))
	var calls atomic.Int64
	rec := newRecorder()
	// Every third call fails, whatever the event: failures hit events at random.
	target := func(ctx context.Context, ev events.EventBridgeEvent) error {
		if calls.Add(1)%3 == 0 {
			return errors.New("transient")
		}
		return rec.target(ctx, ev)
	}
	s := sub("shaky", `{"source":["s"]}`)
	s.MaxAttempts = 50
	require.NoError(t, b.Subscribe(s, target))

	var wg sync.WaitGroup
	idsCh := make(chan []string, 20)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]Entry, 10)
			for i := range batch {
				batch[i] = entry("s", "d", fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))
			}
			res, err := b.Put(context.Background(), batch)
			if err != nil {
				t.Errorf("put: %v", err)
				return
			}
			var ids []string
			for _, r := range res {
				ids = append(ids, r.EventID)
			}
			idsCh <- ids
		}()
	}
	wg.Wait()
	close(idsCh)
	var all []string
	for ids := range idsCh {
		all = append(all, ids...)
	}
	require.Len(t, all, 200)
	waitFor(t, "every event delivered", func() bool { return rec.has(all...) })
	dls, err := b.DeadLetters(context.Background())
	require.NoError(t, err)
	require.Empty(t, dls)
	require.Positive(t, b.Stats().Failed)
}

func TestTail(t *testing.T) {
	t.Run("filters by pattern and closes on cancel", func(t *testing.T) {
		b := newBus(t, fastOptions(""))
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := b.Tail(ctx, []byte(`{"detail-type":["Wanted"]}`))
		require.NoError(t, err)
		all, err := b.Tail(context.Background(), nil)
		require.NoError(t, err)
		ids := putOK(t, b, entry("s", "Other", `{}`), entry("s", "Wanted", `{"k":1}`))
		ev := <-ch
		require.Equal(t, ids[1], ev.ID)
		require.JSONEq(t, `{"k":1}`, string(ev.Detail))
		require.Equal(t, ids[0], (<-all).ID)
		require.Equal(t, ids[1], (<-all).ID)
		cancel()
		for range ch { // drains, then ends because the channel is closed
		}
		require.NoError(t, b.Close(context.Background()))
		_, open := <-all
		require.False(t, open, "Close closes every tail")
	})
	t.Run("slow reader drops instead of blocking", func(t *testing.T) {
		opts := fastOptions("")
		opts.TailBuffer = 2
		b := newBus(t, opts)
		_, err := b.Tail(context.Background(), nil) // never read
		require.NoError(t, err)
		for range 3 {
			putOK(t, b, entry("s", "d", `{}`), entry("s", "d", `{}`))
		}
		require.Equal(t, uint64(4), b.Stats().TailDropped)
	})
	t.Run("invalid pattern", func(t *testing.T) {
		b := newBus(t, fastOptions(""))
		_, err := b.Tail(context.Background(), []byte(`{"a":1}`))
		require.Error(t, err)
	})
}

func TestCloseLetsInFlightFinish(t *testing.T) {
	t.Run("finishes within deadline", func(t *testing.T) {
		b := newBus(t, fastOptions(""))
		started := make(chan struct{})
		var finished atomic.Bool
		require.NoError(t, b.Subscribe(sub("slow", `{"source":["s"]}`), func(context.Context, events.EventBridgeEvent) error {
			close(started)
			time.Sleep(50 * time.Millisecond)
			finished.Store(true)
			return nil
		}))
		putOK(t, b, entry("s", "d", `{}`))
		<-started
		require.NoError(t, b.Close(context.Background()))
		require.True(t, finished.Load(), "Close returned before the delivery in flight finished")
		require.Equal(t, uint64(1), b.Stats().Delivered)
	})
	t.Run("deadline cancels the target", func(t *testing.T) {
		b := newBus(t, fastOptions(""))
		started := make(chan struct{})
		var sawCancel atomic.Bool
		require.NoError(t, b.Subscribe(sub("hung", `{"source":["s"]}`), func(ctx context.Context, _ events.EventBridgeEvent) error {
			close(started)
			<-ctx.Done()
			sawCancel.Store(true)
			return ctx.Err()
		}))
		putOK(t, b, entry("s", "d", `{}`))
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := b.Close(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		waitFor(t, "target cancelled", sawCancel.Load)
	})
}

func TestDeliveryTimeout(t *testing.T) {
	opts := fastOptions("")
	opts.DeliveryTimeout = 10 * time.Millisecond
	b := newBus(t, opts)
	s := sub("slowpoke", `{"source":["s"]}`)
	s.MaxAttempts = 1
	require.NoError(t, b.Subscribe(s, func(ctx context.Context, _ events.EventBridgeEvent) error {
		<-ctx.Done()
		return nil // ignores the timeout error: still a failure, like a timed-out Lambda
	}))
	putOK(t, b, entry("s", "d", `{}`))
	var dls []DeadLetter
	waitFor(t, "timeout dead letter", func() bool {
		dls, _ = b.DeadLetters(context.Background())
		return len(dls) == 1
	})
	require.Contains(t, dls[0].LastError, "timeout")
}

func TestSubscriptionValidate(t *testing.T) {
	tests := []struct {
		name    string
		sub     subscription.Subscription
		wantErr bool
	}{
		{"valid", sub("r", `{"source":["concerts"]}`), false},
		{"valid with retry policy", subscription.Subscription{Name: "r", Pattern: json.RawMessage(`{"source":["c"]}`), MaxAttempts: 3, MaxEventAge: time.Minute}, false},
		{"no name", sub("", `{"source":["concerts"]}`), true},
		{"no pattern", subscription.Subscription{Name: "r"}, true},
		{"empty pattern", sub("r", `{}`), true},
		{"scalar value", sub("r", `{"source":"concerts"}`), true},
		{"negative attempts", subscription.Subscription{Name: "r", Pattern: json.RawMessage(`{"source":["c"]}`), MaxAttempts: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateSubscription(tt.sub)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalidRule)
				return
			}
			require.NoError(t, err)
		})
	}
}
