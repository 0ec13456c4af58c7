package eventlog_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
)

func TestNumberSize(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"0", 1},
		{"1", 2},
		{"12", 2},
		{"123", 3},
		{"100", 2},  // trailing zero pairs live in the exponent
		{"1200", 2}, // "12" + exponent
		{"-1", 3},
		{"1.5", 3},   // "01" "50" aligned on the point
		{"0.001", 2}, // "10" after dropping a leading "00" pair
		{"1777658400.123", 8},
		{"1777658400.000", 5}, // "17" "77" "65" "84" + exponent
		{"007", 2},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, eventlog.NumberSize(tc.in), "got size of %s", tc.in)
		})
	}
}

func TestEpochSecondsRoundTrip(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 5, 1, 18, 0, 0, 123_999_999, time.UTC), "1777658400.123"},
		{time.Date(2026, 5, 1, 20, 0, 0, 0, time.FixedZone("CEST", 7200)), "1777658400.000"},
		{time.Unix(0, 0), "0.000"},
		{time.UnixMilli(-1993), "-1.993"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			got := eventlog.EpochSeconds(tc.in)
			require.Equal(t, tc.want, got)
			back, err := eventlog.ParseEpochSeconds(got)
			require.NoError(t, err)
			require.Equal(t, tc.in.UnixMilli(), back.UnixMilli())
			require.Equal(t, time.UTC, back.Location())
		})
	}
	for _, in := range []string{"1777658400.1229999", "1777658400.123e0", "1777658400123e-3"} {
		got, err := eventlog.ParseEpochSeconds(in)
		require.NoError(t, err)
		require.Equal(t, int64(1777658400123), got.UnixMilli(), "parse %s", in)
	}
	_, err := eventlog.ParseEpochSeconds("soon")
	require.Error(t, err)
}

func event(v int64, data string) eventlog.Event {
	return eventlog.Event{AggregateID: "a", Version: v, EventType: "T", SchemaVersion: 1,
		OccurredAt: time.UnixMilli(1777658400123), Data: json.RawMessage(data)}
}

// sized pads the data so the item is exactly size bytes.
func sized(t *testing.T, v int64, size int) eventlog.Event {
	e := event(v, `""`)
	e.Data = json.RawMessage(`"` + strings.Repeat("x", size-eventlog.ItemSize(e)) + `"`)
	require.Equal(t, size, eventlog.ItemSize(e))
	return e
}

func TestItemSizeCountsNamesAndValues(t *testing.T) {
	e := event(1, `{}`)
	// names: AggregateId 11 + AggregateVersion 16 + Created 7 + EventType 9 + Data 4 +
	// SchemaVersion 13 = 60; values: "a" 1, 1 -> 2, created 8, "T" 1, "{}" 2, 1 -> 2.
	require.Equal(t, 60+1+2+8+1+2+2, eventlog.ItemSize(e))
	e.EventID, e.CorrelationID, e.CausationID = "é", "c", ""
	require.Equal(t, 60+1+2+8+1+2+2+len("EventId")+2+len("CorrelationId")+1, eventlog.ItemSize(e))
}

func TestValidateBatch(t *testing.T) {
	tests := []struct {
		name    string
		batch   func(t *testing.T) []eventlog.Event
		wantErr error
	}{
		{"one event", func(*testing.T) []eventlog.Event { return []eventlog.Event{event(1, `{}`)} }, nil},
		{"exactly the item limit", func(t *testing.T) []eventlog.Event { return []eventlog.Event{sized(t, 1, eventlog.MaxItemBytes)} }, nil},
		{"one byte over the item limit", func(t *testing.T) []eventlog.Event {
			return []eventlog.Event{sized(t, 1, eventlog.MaxItemBytes+1)}
		}, eventlog.ErrTooLarge},
		{"batch exactly the transaction limit", func(t *testing.T) []eventlog.Event {
			n := eventlog.MaxBatchBytes / eventlog.MaxItemBytes // 10 full items, then the rest
			out := make([]eventlog.Event, 0, n+1)
			for i := 0; i < n; i++ {
				out = append(out, sized(t, int64(i+1), eventlog.MaxItemBytes))
			}
			return append(out, sized(t, int64(n+1), eventlog.MaxBatchBytes-n*eventlog.MaxItemBytes))
		}, nil},
		{"batch one byte over the transaction limit", func(t *testing.T) []eventlog.Event {
			n := eventlog.MaxBatchBytes / eventlog.MaxItemBytes
			out := make([]eventlog.Event, 0, n+1)
			for i := 0; i < n; i++ {
				out = append(out, sized(t, int64(i+1), eventlog.MaxItemBytes))
			}
			return append(out, sized(t, int64(n+1), eventlog.MaxBatchBytes-n*eventlog.MaxItemBytes+1))
		}, eventlog.ErrTooLarge},
		{"aggregate id too long", func(*testing.T) []eventlog.Event {
			e := event(1, `{}`)
			e.AggregateID = strings.Repeat("a", eventlog.MaxAggregateIDBytes+1)
			return []eventlog.Event{e}
		}, eventlog.ErrInvalid},
		{"invalid UTF-8", func(*testing.T) []eventlog.Event {
			e := event(1, `{}`)
			e.CausationID = "\xff"
			return []eventlog.Event{e}
		}, eventlog.ErrInvalid},
		{"negative schema version", func(*testing.T) []eventlog.Event {
			e := event(1, `{}`)
			e.SchemaVersion = -1
			return []eventlog.Event{e}
		}, eventlog.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := eventlog.ValidateBatch(tc.batch(t))
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr, "got %v, want %v", err, tc.wantErr)
		})
	}
}

func TestConflictError(t *testing.T) {
	var err error = fmt.Errorf("append: %w", &eventlog.ConflictError{AggregateID: "a", Version: 3})
	require.ErrorIs(t, err, eventlog.ErrConflict)
	require.EqualError(t, err, "append: aggregate a: version 3 already exists")
}
