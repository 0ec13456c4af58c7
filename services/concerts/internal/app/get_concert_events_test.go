package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"

	"github.com/concertsys/services/concerts/internal/app"
)

// pageLog serves LoadPage from a fixed history and records each call. Load and
// LoadAfter are left to the nil embedded Log: a query that read the whole history
// would panic.
type pageLog struct {
	eventlog.Log
	history []eventlog.Event
	calls   [][2]int64 // after, limit
}

func (l *pageLog) LoadPage(_ context.Context, id string, after int64, limit int) ([]eventlog.Event, bool, error) {
	l.calls = append(l.calls, [2]int64{after, int64(limit)})
	var out []eventlog.Event
	for _, e := range l.history {
		if e.AggregateID == id && e.Version > after {
			out = append(out, e)
		}
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

func TestGetConcertEventsReadsOnlyThePage(t *testing.T) {
	var history []eventlog.Event
	for v := int64(1); v <= 250; v++ {
		history = append(history, eventlog.Event{AggregateID: "c1", Version: v})
	}
	tests := []struct {
		name      string
		in        app.GetConcertEventsInput
		wantFirst int64
		wantLen   int
		wantMore  bool
		wantCalls [][2]int64
		wantErr   error
	}{
		{name: "default limit", in: app.GetConcertEventsInput{ID: "c1"}, wantFirst: 1, wantLen: app.DefaultEventsLimit, wantMore: true,
			wantCalls: [][2]int64{{0, app.DefaultEventsLimit}}},
		{name: "page in the middle", in: app.GetConcertEventsInput{ID: "c1", After: 100, Limit: 50}, wantFirst: 101, wantLen: 50, wantMore: true,
			wantCalls: [][2]int64{{100, 50}}},
		{name: "last page", in: app.GetConcertEventsInput{ID: "c1", After: 200, Limit: 50}, wantFirst: 201, wantLen: 50,
			wantCalls: [][2]int64{{200, 50}}},
		{name: "limit above the maximum is capped", in: app.GetConcertEventsInput{ID: "c1", Limit: 5000}, wantFirst: 1, wantLen: 250,
			wantCalls: [][2]int64{{0, app.MaxEventsLimit}}},
		{name: "after the end of an existing concert", in: app.GetConcertEventsInput{ID: "c1", After: 250, Limit: 10},
			wantCalls: [][2]int64{{250, 10}, {0, 1}}},
		{name: "unknown concert", in: app.GetConcertEventsInput{ID: "nope"}, wantErr: app.ErrNotFound,
			wantCalls: [][2]int64{{0, app.DefaultEventsLimit}}},
		{name: "unknown concert with a cursor", in: app.GetConcertEventsInput{ID: "nope", After: 3}, wantErr: app.ErrNotFound,
			wantCalls: [][2]int64{{3, app.DefaultEventsLimit}, {0, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &pageLog{history: history}
			got, err := app.NewGetConcertEvents(log).Handle(context.Background(), tc.in)
			require.Equal(t, tc.wantCalls, log.calls, "got LoadPage calls %v, want %v", log.calls, tc.wantCalls)
			if tc.wantErr != nil {
				require.True(t, errors.Is(err, tc.wantErr), "got %v, want %v", err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, got.Events, tc.wantLen, "got %d events, want %d", len(got.Events), tc.wantLen)
			require.Equal(t, tc.wantMore, got.More, "got more=%v, want %v", got.More, tc.wantMore)
			if tc.wantLen > 0 {
				require.Equal(t, tc.wantFirst, got.Events[0].Version, "got first version %d, want %d", got.Events[0].Version, tc.wantFirst)
			}
		})
	}
}
