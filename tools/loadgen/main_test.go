package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStagePercentiles(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // unsorted on purpose
	}
	tests := []struct {
		name    string
		in      []float64
		missing int
		want    Stage
	}{
		{"empty", nil, 3, Stage{Missing: 3}},
		{"one", []float64{7}, 0, Stage{Count: 1, P50: 7, P95: 7, P99: 7, Max: 7}},
		{"1..100", hundred, 0, Stage{Count: 100, P50: 50, P95: 95, P99: 99, Max: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stage(append([]float64(nil), tt.in...), tt.missing)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestWebSocketSightingCountsLaterVersions(t *testing.T) {
	o := newObserver()
	t0 := time.Now()
	// One update may carry several versions: version 5 covers writes of 3, 4 and 5.
	o.ws["c1"] = []sighting{{version: 2, at: t0}, {version: 5, at: t0.Add(time.Second)}, {version: 6, at: t0.Add(2 * time.Second)}}
	tests := []struct {
		version int64
		want    time.Time
		ok      bool
	}{
		{1, t0, true},
		{2, t0, true},
		{3, t0.Add(time.Second), true},
		{6, t0.Add(2 * time.Second), true},
		{7, time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := o.wsAt("c1", tt.version)
		require.Equal(t, tt.ok, ok, "version %d", tt.version)
		require.True(t, tt.want.Equal(got), "version %d: got %v want %v", tt.version, got, tt.want)
	}
}

func TestPollIntervalKeepsRelativeErrorSmall(t *testing.T) {
	tests := []struct {
		elapsed, want time.Duration
	}{
		{0, 2 * time.Millisecond},
		{10 * time.Millisecond, 2 * time.Millisecond},
		{100 * time.Millisecond, 5 * time.Millisecond},
		{10 * time.Second, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.elapsed.String(), func(t *testing.T) {
			got := pollInterval(tt.elapsed)
			require.Equal(t, tt.want, got, "got %s after %s, want %s", got, tt.elapsed, tt.want)
		})
	}
}
