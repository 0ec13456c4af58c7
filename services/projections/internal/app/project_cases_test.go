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

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/services/projections/internal/adapters/ebpublisher"
	"github.com/concertsys/services/projections/internal/app"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
	"github.com/concertsys/services/projections/internal/publishtest"
)

func project(t *testing.T, p *app.ProjectConcertEvent, e eventlog.Event) error {
	t.Helper()
	ev := historygen.BusEvent(e)
	de, err := domain.ParseDetail(ev.DetailType, ev.Detail)
	require.NoError(t, err)
	return p.Handle(context.Background(), de)
}

// history returns a generated history of exactly n events.
func history(t *testing.T, id string, n int) []eventlog.Event {
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
	require.NoError(t, h.log.Append(ctx, events))

	// An EventBridge endpoint that is down: the view commits, the publish fails.
	down := httptest.NewServer(nil)
	down.Close()
	broken := eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(down.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	p := app.NewProjectConcertEvent(h.views, h.log, app.NewViewPublisher(h.views, ebpublisher.New(broken, publishtest.BusName)), nil)
	require.Error(t, project(t, p, events[0]), "got nil error, want the publish failure reported so the bus redelivers")
	rec, err := h.views.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(1), rec.View.Version)
	require.Equal(t, int64(0), rec.PublishedVersion)

	// The redelivered (duplicate) event applies nothing but publishes what is owed.
	working := app.NewProjectConcertEvent(h.views, h.log, app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName)), nil)
	require.NoError(t, project(t, working, events[0]))
	got := h.bus.WaitFor(t, func(got []app.ConcertViewUpdated) bool { return len(got) == 1 })
	require.Equal(t, int64(1), got[0].Metadata.AggregateVersion)
	require.Equal(t, events[0].EventID, got[0].Metadata.CausationID)
	require.Equal(t, events[0].CorrelationID, got[0].Metadata.CorrelationID)
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
		name    string
		inLog   int // how many of the 4 events the log holds
		withLog bool
		wantErr bool
		wantV   int64
	}{
		{"gap filled from the log", 4, true, false, 4},
		{"log lags behind: the event itself is next", 3, true, false, 4},
		{"log misses the gap: retry later, nothing applied", 1, true, true, 1},
		{"no log: retry later, nothing applied", 4, false, true, 1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			id := fmt.Sprintf("c%d", i)
			events := history(t, id, 4)
			require.NoError(t, h.log.Append(ctx, events[:tc.inLog]))
			var log app.EventLog
			if tc.withLog {
				log = h.log
			}
			p := app.NewProjectConcertEvent(h.views, log, app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName)), nil)
			require.NoError(t, project(t, p, events[0]))
			err := project(t, p, events[3])
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
			}
		})
	}
}

func TestPoisonEventIsRejected(t *testing.T) {
	h := newHarness(t)
	p := app.NewProjectConcertEvent(h.views, h.log, app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName)), nil)
	events := history(t, "c1", 2)
	require.NoError(t, project(t, p, events[0]))
	bad := events[1]
	bad.EventType, bad.Data = domain.TicketsSold, []byte(`{"quantity":1}`)
	err := project(t, p, bad)
	require.ErrorIs(t, err, domain.ErrInvalidEvent)
	rec, err := h.views.Get(context.Background(), "c1")
	require.NoError(t, err)
	require.Equal(t, int64(1), rec.View.Version)
}

func TestBadEventBeyondTheGapDoesNotHoldBackTheEvent(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	events := history(t, "c1", 4)
	events[3].EventType, events[3].Data = domain.TicketsSold, []byte(`{"quantity":1}`)
	require.NoError(t, h.log.Append(ctx, events))
	p := app.NewProjectConcertEvent(h.views, h.log, app.NewViewPublisher(h.views, ebpublisher.New(h.bus.Client, publishtest.BusName)), nil)
	require.NoError(t, project(t, p, events[0]))
	require.NoError(t, project(t, p, events[2]), "v3 is fine; the bad v4 beyond it is reported by its own delivery")
	rec, err := h.views.Get(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, int64(3), rec.View.Version)
	require.ErrorIs(t, project(t, p, events[3]), domain.ErrInvalidEvent)
}
