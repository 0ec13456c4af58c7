package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/concertsys/platform/tracing"
)

func TestExtractAndTraceparent(t *testing.T) {
	tests := []struct {
		name, in, wantTraceID string
	}{
		{"valid", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"surrounding spaces", " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"empty", "", ""},
		{"malformed", "00-xyz-00f067aa0ba902b7-01", ""},
		{"all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tracing.TraceIDOf(tt.in)
			require.Equal(t, tt.wantTraceID, got, "trace id of %q: got %q want %q", tt.in, got, tt.wantTraceID)
		})
	}
}

// With an SDK provider, a span started from a remote traceparent is its child and
// hands its own span id on.
func TestStartRemoteContinuesTheTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx := tracing.Extract(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ctx, span := tp.Tracer("t").Start(ctx, "hop")
	span.End()
	got := tracing.Traceparent(ctx)
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + span.SpanContext().SpanID().String() + "-01"
	require.Equal(t, want, got, "traceparent: got %q want %q", got, want)
	ended := rec.Ended()
	require.Len(t, ended, 1)
	require.Equal(t, "00f067aa0ba902b7", ended[0].Parent().SpanID().String())
	require.True(t, ended[0].Parent().IsRemote(), "the parent came from another hop")
}

func TestLogHandlerAddsIDs(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() context.Context
		want map[string]any
	}{
		{"trace and ids", func() context.Context {
			ctx := tracing.Extract(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			return tracing.WithIDs(ctx, tracing.IDs{CorrelationID: "c", CausationID: "e"})
		}, map[string]any{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7", "correlationId": "c", "causationId": "e"}},
		{"nothing to add", context.Background, map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(tracing.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("service", "s").InfoContext(tt.ctx(), "m")
			var line map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
			for _, k := range []string{tracing.LogTraceID, tracing.LogSpanID, tracing.LogCorrelationID, tracing.LogCausationID} {
				require.Equal(t, tt.want[k], line[k], "%s: got %v want %v", k, line[k], tt.want[k])
			}
			require.Equal(t, "s", line["service"])
		})
	}
}

func TestXRayTraceparent(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"sampled", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			"00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"},
		{"not sampled, other order, lineage", "Parent=53995c3f42cd8ad8;Root=1-5759E988-BD862E3FE1BE46A994272793;Sampled=0;Lineage=a:1",
			"00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00"},
		{"no parent", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", ""},
		{"bad root", "Root=2-5759e988-bd86;Parent=53995c3f42cd8ad8", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tracing.XRayTraceparent(tt.in)
			require.Equal(t, tt.want, got, "got %q want %q", got, tt.want)
		})
	}
}

func TestExtractLambda(t *testing.T) {
	//nolint:staticcheck // aws-lambda-go's own key is this plain string
	ctx := context.WithValue(context.Background(), "x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	require.Equal(t, "5759e988bd862e3fe1be46a994272793", tracing.TraceID(tracing.ExtractLambda(ctx)))
	require.Empty(t, tracing.TraceID(tracing.ExtractLambda(context.Background())))
}

func TestXRayHeaderRoundTrips(t *testing.T) {
	const tp = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
	tests := []struct {
		name, traceparent, want string
	}{
		{"sampled span", tp, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
		{"no span", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tracing.Extract(context.Background(), tt.traceparent)
			got := tracing.XRayHeader(ctx)
			require.Equal(t, tt.want, got, "got %q want %q", got, tt.want)
			back := tracing.Traceparent(tracing.ExtractSQS(context.Background(), map[string]string{"AWSTraceHeader": got}))
			require.Equal(t, tt.traceparent, back, "got %q want %q back from the SQS attribute", back, tt.traceparent)
		})
	}
}
