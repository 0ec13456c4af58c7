package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/projections/internal/adapters/ebpublisher"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
	"github.com/concertsys/services/projections/internal/publishtest"
)

func project(t *testing.T, p *app.ProjectConcertEvent, e domain.Event) error {
	t.Helper()
	ev := historygen.BusEvent(e)
	de, err := domain.ParseDetail(ev.DetailType, ev.Detail)
	require.NoError(t, err)
	return p.Handle(context.Background(), de)
}

// history returns a generated history of exactly n events.
func history(t *testing.T, id string, n int) []domain.Event {
	t.Helper()
	for s := uint64(1); ; s++ {
		h := historygen.History(rand.New(rand.NewPCG(s, 1)), id, n)
		if len(h) == n {
			return h
		}
	}
}

func TestPublishFailureAfterCommitIsRepairedByRedelivery(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	events := history(t, "c1", 3)

	// An EventBridge endpoint that is down: the view commits, the publish fails.
	down := httptest.NewServer(nil)
	down.Close()
	broken := eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(down.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	p := app.NewProjectConcertEvent(h.views, app.NewViewPublisher(h.views, ebpublisher.New(broken, publishtest.BusName)), nil)
	require.Error(t, project(t, p, events[0]), "got nil error, want the publish failure reported so the bus redelivers")
	rec, err := h.views.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(1), rec.View.Version)
	require.Equal(t, int64(0), rec.PublishedVersion)

	// The redelivered (duplicate) event applies nothing but publishes what is owed.
	working := app.NewProjectConcertEvent(h.views, app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName)), nil)
	require.NoError(t, project(t, working, events[0]))
	got := h.bus.WaitFor(t, func(got []app.ConcertViewUpdated) bool { return len(got) == 1 })
	require.Equal(t, int64(1), got[0].Metadata.AggregateVersion)
	require.Equal(t, events[0].Meta.EventID, got[0].Metadata.CausationID)
	require.Equal(t, events[0].Meta.CorrelationID, got[0].Metadata.CorrelationID)
	rec, err = h.views.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(1), rec.PublishedVersion)

	// Another duplicate publishes nothing more.
	require.NoError(t, project(t, working, events[0]))
	require.NoError(t, project(t, working, events[1]))
	got = h.bus.WaitFor(t, func(got []app.ConcertViewUpdated) bool { return len(got) == 2 })
	require.Equal(t, int64(2), got[1].Metadata.AggregateVersion)
}

func TestEventAheadOfTheView(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		stateless bool // the event as published before events carried their state
		wantErr   bool
		wantV     int64
	}{
		{"carries the state: applies at once, the lost ones are covered", false, false, 4},
		{"without state: retry later, nothing applied", true, true, 1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			id := fmt.Sprintf("c%d", i)
			events := history(t, id, 4)
			p := app.NewProjectConcertEvent(h.views, app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName)), nil)
			require.NoError(t, project(t, p, events[0]))
			ahead := events[3]
			if tc.stateless {
				ahead = historygen.WithoutState(ahead)
			}
			err := project(t, p, ahead)
			if tc.wantErr {
				var gap *domain.GapError
				require.ErrorAs(t, err, &gap, "got %v, want a gap error (retryable)", err)
			} else {
				require.NoError(t, err)
			}
			rec, err := h.views.Get(ctx, id)
			require.NoError(t, err)
			require.Equal(t, tc.wantV, rec.View.Version)
			if !tc.wantErr {
				require.Equal(t, inOrder(t, events), rec.View)
				// The older events arriving late change nothing.
				for _, e := range events[1:3] {
					require.NoError(t, project(t, p, e))
				}
				rec, err = h.views.Get(ctx, id)
				require.NoError(t, err)
				require.Equal(t, inOrder(t, events), rec.View)
			}
		})
	}
}

func TestEventsWithoutStateApplyInOrder(t *testing.T) {
	h := newHarness(t)
	events := history(t, "c1", 12)
	p := app.NewProjectConcertEvent(h.views, app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName)), nil)
	for i, e := range events {
		if i%2 == 1 {
			e = historygen.WithoutState(e) // mixed, as around the producer's upgrade
		}
		require.NoError(t, project(t, p, e))
	}
	rec, err := h.views.Get(context.Background(), "c1")
	require.NoError(t, err)
	require.Equal(t, inOrder(t, events), rec.View)
}

func TestPoisonEventIsRejected(t *testing.T) {
	h := newHarness(t)
	p := app.NewProjectConcertEvent(h.views, app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName)), nil)
	events := history(t, "c1", 2)
	require.NoError(t, project(t, p, events[0]))
	bad := events[1]
	bad.Meta.EventType, bad.Data = domain.TicketsSold, []byte(`{"quantity":1}`)
	err := project(t, p, bad)
	require.ErrorIs(t, err, domain.ErrInvalidEvent)
	rec, err := h.views.Get(context.Background(), "c1")
	require.NoError(t, err)
	require.Equal(t, int64(1), rec.View.Version)
}

func TestBadEventDoesNotHoldBackLaterOnes(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	events := history(t, "c1", 4)
	events[2].Data = []byte(`{"state":{"artist":"A"}}`) // a state without its required fields
	p := app.NewProjectConcertEvent(h.views, app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName)), nil)
	require.NoError(t, project(t, p, events[0]))
	require.ErrorIs(t, project(t, p, events[2]), domain.ErrInvalidEvent, "the bad v3 is reported by its own delivery")
	require.NoError(t, project(t, p, events[3]), "v4 carries the state; the bad v3 does not hold it back")
	rec, err := h.views.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(4), rec.View.Version)
}
