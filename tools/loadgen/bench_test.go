package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSummaryHasTheDesignKeys(t *testing.T) {
	dir := t.TempDir()
	load := filepath.Join(dir, "load.json")
	require.NoError(t, writeJSON(load, Result{Throughput: 600, Stages: map[string]Stage{
		"ack": {Count: 1, P99: 90}, "bus": {Count: 1, P99: 100}, "readmodel": {Count: 1, P99: 110}, "websocket": {Count: 0, Missing: 1},
	}}))
	ceiling := filepath.Join(dir, "ceiling.json")
	require.NoError(t, writeJSON(ceiling, CeilingResult{ReqPerSec: 16000}))
	bench := filepath.Join(dir, "bench.txt")
	require.NoError(t, os.WriteFile(bench, []byte(`goos: linux
BenchmarkColdCommand/events=1-2         	      20	    318911 ns/op	         0.3155 cold-ms
BenchmarkColdCommand/events=20000-2     	      20	    397602 ns/op	         0.3689 cold-ms
BenchmarkRebuildBolt-2   	      10	 263000000 ns/op	     38000 events/s
PASS
`), 0o644))
	out := filepath.Join(dir, "summary.json")
	require.NoError(t, writeSummary(out, summaryInputs{load: load, ceiling: ceiling, bench: []string{bench}}))
	var got map[string]any
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &got))
	for _, k := range []string{"ceiling_req_per_s", "writes_per_s", "ack_p99_ms", "bus_p99_ms", "read_p99_ms", "ws_p99_ms",
		"cold_command_ms_1_event", "cold_command_ms_20000_events", "rebuild_events_per_s", "fanout_10000_ms", "init_ms", "machine", "date"} {
		require.Contains(t, got, k)
	}
	require.Equal(t, 16000.0, got["ceiling_req_per_s"])
	require.Equal(t, 600.0, got["writes_per_s"])
	require.Equal(t, 110.0, got["read_p99_ms"])
	require.Nil(t, got["ws_p99_ms"], "no WebSocket sighting: null, not 0")
	require.Equal(t, 0.3689, got["cold_command_ms_20000_events"])
	require.Equal(t, 38000.0, got["rebuild_events_per_s"])
	require.Nil(t, got["fanout_10000_ms"])
	require.Nil(t, got["init_ms"])
	require.Contains(t, got["notes"], "init_ms")
	require.Contains(t, got["notes"], "fanout_10000_ms")

	// With the fan-out benchmark and initbench's file both are filled in.
	fan := filepath.Join(dir, "fanout.txt")
	require.NoError(t, os.WriteFile(fan, []byte("BenchmarkFanOut10000-2   \t       1\t2936325703 ns/op\t      2933 fanout-ms\t      2933 handler-ms\n"), 0o644))
	init := filepath.Join(dir, "init.json")
	require.NoError(t, os.WriteFile(init, []byte(`{"method":"m","init_ms":{"sell-tickets":11.99,"list-concerts":70.78}}`), 0o644))
	require.NoError(t, writeSummary(out, summaryInputs{load: load, ceiling: ceiling, bench: []string{bench, fan}, init: init}))
	b, err = os.ReadFile(out)
	require.NoError(t, err)
	got = nil
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, 2933.0, got["fanout_10000_ms"])
	require.Equal(t, map[string]any{"sell-tickets": 11.99, "list-concerts": 70.78}, got["init_ms"])
}
