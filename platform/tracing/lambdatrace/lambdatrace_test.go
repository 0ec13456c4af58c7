package lambdatrace_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertsys/platform/tracing"
	"github.com/concertsys/platform/tracing/lambdatrace"
)

// collector records OTLP/JSON export requests.
type collector struct {
	mu     sync.Mutex
	bodies []map[string]any
	types  []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || r.URL.Path != "/v1/traces" {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, body)
	c.types = append(c.types, r.Header.Get("Content-Type"))
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{}`)
}

func (c *collector) exports() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

// The end of an invocation's root span flushes its spans to the collector before the
// handler returns, in OTLP/JSON: hex ids, decimal-string times and integers, OTLP's
// status and kind numbers.
func TestRootSpanEndFlushesOTLPJSON(t *testing.T) {
	c := &collector{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	exp := lambdatrace.NewOTLPExporter(lambdatrace.TracesURL(func(k string) string {
		return map[string]string{lambdatrace.EnvEndpoint: srv.URL + "/"}[k]
	}), nil)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "projections"))),
		sdktrace.WithSpanProcessor(lambdatrace.FlushAtRoot(sdktrace.NewBatchSpanProcessor(exp))))
	defer tp.Shutdown(context.Background())

	ctx := tracing.Extract(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ctx, root := tp.Tracer("t").Start(ctx, "projections/project-concerts", trace.WithSpanKind(trace.SpanKindConsumer))
	_, child := tp.Tracer("t").Start(ctx, "publish", trace.WithAttributes(attribute.Int("n", 3), attribute.Bool("ok", true)))
	child.End()
	require.Equal(t, 0, c.exports(), "a child span's end does not flush")
	tracing.Fail(root, errors.New("boom"))
	root.End()
	require.Equal(t, 1, c.exports(), "the root span's end flushed before returning")

	require.Equal(t, "application/json", c.types[0])
	rs := c.bodies[0]["resourceSpans"].([]any)[0].(map[string]any)
	require.Equal(t, []any{map[string]any{"key": "service.name", "value": map[string]any{"stringValue": "projections"}}},
		rs["resource"].(map[string]any)["attributes"])
	spans := rs["scopeSpans"].([]any)[0].(map[string]any)["spans"].([]any)
	require.Len(t, spans, 2)
	byName := map[string]map[string]any{}
	for _, s := range spans {
		byName[s.(map[string]any)["name"].(string)] = s.(map[string]any)
	}
	r, ch := byName["projections/project-concerts"], byName["publish"]
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", r["traceId"])
	require.Equal(t, "00f067aa0ba902b7", r["parentSpanId"])
	require.Equal(t, r["spanId"], ch["parentSpanId"])
	require.Equal(t, float64(5), r["kind"], "SPAN_KIND_CONSUMER")
	require.Equal(t, map[string]any{"code": float64(2), "message": "boom"}, r["status"], "STATUS_CODE_ERROR")
	require.IsType(t, "", r["startTimeUnixNano"])
	require.Contains(t, ch["attributes"], map[string]any{"key": "n", "value": map[string]any{"intValue": "3"}})
	require.Contains(t, ch["attributes"], map[string]any{"key": "ok", "value": map[string]any{"boolValue": true}})
}

func TestTracesURL(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"none", nil, ""},
		{"base endpoint", map[string]string{lambdatrace.EnvEndpoint: "http://localhost:4318"}, "http://localhost:4318/v1/traces"},
		{"signal endpoint wins", map[string]string{lambdatrace.EnvEndpoint: "http://a", lambdatrace.EnvTracesEndpoint: "http://b/x"}, "http://b/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lambdatrace.TracesURL(func(k string) string { return tt.env[k] })
			require.Equal(t, tt.want, got, "got %q want %q", got, tt.want)
		})
	}
}

func TestExportFailureIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	rec := sdktrace.NewTracerProvider()
	_, span := rec.Tracer("t").Start(context.Background(), "x")
	span.End()
	ro, ok := span.(sdktrace.ReadOnlySpan)
	require.True(t, ok)
	err := lambdatrace.NewOTLPExporter(srv.URL+"/v1/traces", nil).ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{ro})
	require.ErrorContains(t, err, "503")
}
