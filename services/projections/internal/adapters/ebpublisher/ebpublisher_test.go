package ebpublisher_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/projections/internal/adapters/ebpublisher"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/publishtest"
	"github.com/concertsys/services/projections/viewevents"
	"github.com/concertsys/tools/local/faults"
)

func detail(id string, version int64) app.ConcertViewUpdated {
	return app.NewConcertViewUpdated(app.Record{
		View: viewevents.ConcertViewV1{ID: id, Artist: "A", Venue: "V", StartsAt: time.Date(2026, 9, 1, 20, 0, 0, 0, time.UTC),
			Capacity: 10, TicketsAvailable: 10, Status: viewevents.StatusScheduled, Version: version,
			UpdatedAt: time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)},
		LastEventID: "e", LastCorrelationID: "c",
	})
}

func TestPublishesInBatchesOfTen(t *testing.T) {
	b := publishtest.Start(t)
	p := ebpublisher.New(b.Client, publishtest.BusName)
	var details []app.ConcertViewUpdated
	for i := range 25 {
		details = append(details, detail(fmt.Sprintf("c%02d", i), 1))
	}
	require.NoError(t, p.PublishConcertViewUpdated(context.Background(), details))
	got := b.WaitFor(t, func(got []app.ConcertViewUpdated) bool { return len(got) >= 25 })
	time.Sleep(50 * time.Millisecond)
	require.Len(t, b.Received(), 25, "got %d deliveries, want each of 25 exactly once", len(b.Received()))
	seen := map[string]bool{}
	for _, d := range got {
		seen[d.Metadata.EventID] = true
	}
	require.Len(t, seen, 25)
}

// missingBus sends requests on to the real API, but the entries of the concerts in
// broken go to a bus that does not exist for their first failFor attempts, so the
// API itself rejects exactly those entries (ResourceNotFoundException per entry).
type missingBus struct {
	next    ebpublisher.PutEventsAPI
	broken  map[string]int // concert id -> attempts left to fail
	batches []int
}

func (m *missingBus) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	m.batches = append(m.batches, len(in.Entries))
	out := *in
	out.Entries = append([]types.PutEventsRequestEntry(nil), in.Entries...)
	for i, e := range out.Entries {
		for id, left := range m.broken {
			if left > 0 && strings.Contains(aws.ToString(e.Detail), `"id":"`+id+`"`) {
				m.broken[id]--
				out.Entries[i].EventBusName = aws.String("no-such-bus")
			}
		}
	}
	return m.next.PutEvents(ctx, &out, optFns...)
}

func TestOnlyFailedEntriesAreRetried(t *testing.T) {
	tests := []struct {
		name        string
		failFor     int
		wantErr     bool
		wantBatches []int
	}{
		{"transient failure is retried alone", 2, false, []int{3, 1, 1}},
		{"permanent failure is reported", 100, true, []int{3, 1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := publishtest.Start(t)
			api := &missingBus{next: b.Client, broken: map[string]int{"c2": tc.failFor}}
			p := ebpublisher.New(api, publishtest.BusName)
			err := p.PublishConcertViewUpdated(context.Background(), []app.ConcertViewUpdated{detail("c1", 1), detail("c2", 1), detail("c3", 1)})
			want := []string{"c1", "c2", "c3"}
			if tc.wantErr {
				require.Error(t, err, "got nil, want the failing entry reported")
				require.Contains(t, err.Error(), "1 of 3 entries still failing")
				want = []string{"c1", "c3"}
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.wantBatches, api.batches, "got batch sizes %v, want %v", api.batches, tc.wantBatches)
			b.WaitFor(t, func(got []app.ConcertViewUpdated) bool { return len(got) >= len(want) })
			time.Sleep(50 * time.Millisecond)
			var ids []string
			for _, d := range b.Received() {
				ids = append(ids, d.Metadata.AggregateID)
			}
			require.ElementsMatch(t, want, ids, "accepted entries must be delivered exactly once")
		})
	}
}

// scripted answers PutEvents with the next scripted output, recording each request's
// entries (by the concert id in their detail).
type scripted struct {
	answers []func(n int) *eventbridge.PutEventsOutput
	sent    [][]string
}

func (s *scripted) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	var ids []string
	for _, e := range in.Entries {
		for _, id := range []string{"c1", "c2", "c3"} {
			if strings.Contains(aws.ToString(e.Detail), `"id":"`+id+`"`) {
				ids = append(ids, id)
			}
		}
	}
	s.sent = append(s.sent, ids)
	answer := s.answers[0]
	s.answers = s.answers[1:]
	return answer(len(in.Entries)), nil
}

func ok(n int) *eventbridge.PutEventsOutput {
	out := &eventbridge.PutEventsOutput{}
	for range n {
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("id")})
	}
	return out
}

// TestPartialFailureAnswers covers PutEvents' 200 answers with FailedEntryCount: the
// entries marked failed are resent and no others; an answer that cannot be matched to
// the entries resends them all (a duplicate is allowed, a loss is not).
func TestPartialFailureAnswers(t *testing.T) {
	failSecond := func(n int) *eventbridge.PutEventsOutput {
		out := ok(n)
		out.FailedEntryCount = 1
		out.Entries[1] = types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")}
		return out
	}
	tests := []struct {
		name    string
		answers []func(int) *eventbridge.PutEventsOutput
		want    [][]string
	}{
		{"failed entry resent alone", []func(int) *eventbridge.PutEventsOutput{failSecond, ok},
			[][]string{{"c1", "c2", "c3"}, {"c2"}}},
		{"failures counted but none marked", []func(int) *eventbridge.PutEventsOutput{
			func(n int) *eventbridge.PutEventsOutput { out := ok(n); out.FailedEntryCount = 1; return out }, ok},
			[][]string{{"c1", "c2", "c3"}, {"c1", "c2", "c3"}}},
		{"fewer results than entries", []func(int) *eventbridge.PutEventsOutput{
			func(n int) *eventbridge.PutEventsOutput {
				out := failSecond(n)
				out.Entries = out.Entries[:2]
				return out
			}, ok},
			[][]string{{"c1", "c2", "c3"}, {"c1", "c2", "c3"}}},
		{"marked failure without a count", []func(int) *eventbridge.PutEventsOutput{
			func(n int) *eventbridge.PutEventsOutput { out := failSecond(n); out.FailedEntryCount = 0; return out }, ok},
			[][]string{{"c1", "c2", "c3"}, {"c2"}}},
		{"no results, nothing failed", []func(int) *eventbridge.PutEventsOutput{
			func(int) *eventbridge.PutEventsOutput { return &eventbridge.PutEventsOutput{} }},
			[][]string{{"c1", "c2", "c3"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &scripted{answers: tc.answers}
			p := ebpublisher.New(api, publishtest.BusName)
			require.NoError(t, p.PublishConcertViewUpdated(context.Background(), []app.ConcertViewUpdated{detail("c1", 1), detail("c2", 1), detail("c3", 1)}))
			require.Equal(t, tc.want, api.sent)
		})
	}
}

// TestRetriesExactlyTheFailedEntriesOfTheRealAPI publishes through the real SDK
// client to devstack's EventBridge API with put faults (entries answered as failed
// with InternalFailure or ThrottlingException in a 200 answer): every request after
// a partial failure carries exactly the entries that failed, and every event reaches
// the bus exactly once.
func TestRetriesExactlyTheFailedEntriesOfTheRealAPI(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			in := faults.New(faults.Spec{Put: 0.3, Seed: seed})
			b := publishtest.StartWithFaults(t, in)
			p := ebpublisher.New(b.Client, publishtest.BusName)
			want := map[string]bool{}
			republished := map[string]bool{} // events of a call published again: duplicates allowed
			calls := [][2]int{}              // each publish call's range of exchanges
			for call := range 20 {
				var details []app.ConcertViewUpdated
				for i := range 7 {
					d := detail(fmt.Sprintf("c%02d-%d", call, i), 1)
					details = append(details, d)
					want[d.Metadata.EventID] = true
				}
				// After maxAttempts an entry still failing is reported; the caller
				// (the projection) publishes again on the event's next delivery.
				for {
					from := len(b.Exchanges())
					err := p.PublishConcertViewUpdated(context.Background(), details)
					calls = append(calls, [2]int{from, len(b.Exchanges())})
					if err == nil {
						break
					}
					require.ErrorContains(t, err, "still failing")
					for _, d := range details {
						republished[d.Metadata.EventID] = true
					}
				}
			}
			require.Positive(t, in.Counts()[faults.Put], "the faults must have failed some entries")
			ex := b.Exchanges()
			partial := 0
			for _, c := range calls {
				for i := c[0] + 1; i < c[1]; i++ {
					prev := ex[i-1]
					require.NotEmpty(t, prev.Failed, "request %d sent after an answer without failures", i)
					require.Equal(t, prev.Failed, ex[i].Sent, "request %d: got %v, want exactly the failed entries of the previous answer", i, ex[i].Sent)
					if len(prev.Failed) < len(prev.Sent) {
						partial++
					}
				}
			}
			require.Positive(t, partial, "some answers must have failed only part of their entries")
			b.WaitFor(t, func(got []app.ConcertViewUpdated) bool { return len(got) >= len(want) })
			time.Sleep(50 * time.Millisecond)
			got := b.Received()
			seen := map[string]int{}
			for _, d := range got {
				seen[d.Metadata.EventID]++
			}
			for id := range want {
				if republished[id] {
					require.Positive(t, seen[id], "event %s never delivered", id)
					continue
				}
				require.Equal(t, 1, seen[id], "event %s delivered %d times, want once", id, seen[id])
			}
		})
	}
}
