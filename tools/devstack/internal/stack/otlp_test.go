package stack_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/concertsys/tools/devstack/internal/stack"
)

// TestOTLPExport runs a stack with -otlp pointing at a collector stand-in that decodes
// what it gets with the OTLP protobuf definitions: the spans of a write arrive there,
// flushed at the latest when the stack closes.
func TestOTLPExport(t *testing.T) {
	var mu sync.Mutex
	names := map[string]bool{}
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "not an OTLP/HTTP trace export", http.StatusBadRequest)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names[s.Name] = true
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	defer collector.Close()

	st, err := stack.Start(context.Background(), stack.Config{Addr: "127.0.0.1:0", InMemory: true, Logger: slog.New(slog.DiscardHandler),
		OTLPEndpoint: collector.URL + "/v1/traces"})
	require.NoError(t, err)
	post(t, st.URL()+"/concerts", `{"artist":"A","venue":"V","startsAt":"2030-09-12T20:00:00Z","capacity":10,"priceCents":1}`, nil)
	require.NoError(t, st.Close(context.Background()))

	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"concerts/schedule-concert", "eventlog.Append"} {
		require.True(t, names[want], "span %q not exported; got %v", want, names)
	}
}
