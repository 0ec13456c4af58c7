package spanstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/concertsys/tools/local/spanstore"
)

func record(store *spanstore.Store, names ...string) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(store)))
	ctx, root := tp.Tracer("t").Start(context.Background(), names[0])
	for _, n := range names[1:] {
		_, s := tp.Tracer("t").Start(ctx, n)
		if n == "fails" {
			s.SetStatus(codes.Error, errors.New("boom").Error())
		}
		s.End()
	}
	root.End()
}

// The store keeps at most its limit, overwriting the oldest spans and counting them.
func TestRingIsBounded(t *testing.T) {
	tests := []struct {
		limit, spans int
		wantKept     int
		wantEvicted  uint64
	}{
		{limit: 4, spans: 3, wantKept: 3, wantEvicted: 0},
		{limit: 4, spans: 4, wantKept: 4, wantEvicted: 0},
		{limit: 4, spans: 10, wantKept: 4, wantEvicted: 6},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d spans into %d", tt.spans, tt.limit), func(t *testing.T) {
			store := spanstore.New(tt.limit)
			names := []string{"root"}
			for i := 1; i < tt.spans; i++ {
				names = append(names, fmt.Sprintf("s%d", i))
			}
			record(store, names...)
			st := store.Stats()
			require.Equal(t, tt.wantKept, st.Spans, "kept: got %d want %d", st.Spans, tt.wantKept)
			require.Equal(t, tt.wantEvicted, st.Evicted, "evicted: got %d want %d", st.Evicted, tt.wantEvicted)
			require.Equal(t, tt.limit, st.Limit)
			require.Len(t, store.Select(func(spanstore.Span) bool { return true }), tt.wantKept)
		})
	}
}

func TestTraceReturnsOneTraceWithParentsAndFailures(t *testing.T) {
	store := spanstore.New(0)
	record(store, "root", "child", "fails")
	record(store, "other")
	all := store.Select(func(spanstore.Span) bool { return true })
	require.Len(t, all, 4)
	var root spanstore.Span
	for _, s := range all {
		if s.Name == "root" {
			root = s
		}
	}
	got := store.Trace(root.TraceID)
	require.Len(t, got, 3)
	for _, s := range got {
		if s.Name != "root" {
			require.Equal(t, root.SpanID, s.ParentID, "span %s", s.Name)
		}
		require.Equal(t, s.Name == "fails", s.Failed, "span %s failed", s.Name)
	}
	require.Equal(t, spanstore.DefaultLimit, store.Stats().Limit)
}
