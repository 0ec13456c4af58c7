// Package lambdatrace sets a Lambda function up for tracing: its logger (JSON lines
// with trace, correlation and causation ids) and the OpenTelemetry SDK: spans go
// by OTLP/HTTP to the collector the function's layer runs (the ADOT collector
// extension listens on localhost:4318 and forwards to X-Ray), and every invocation's
// spans are flushed before the handler returns, because Lambda freezes the process
// between invocations and a background batch would wait there. Sampling follows the
// SDK's standard variables OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (the
// stacks set parentbased_traceidratio and a ratio), and the endpoint
// OTEL_EXPORTER_OTLP_ENDPOINT: without it spans are still made, so trace ids reach
// the logs and the next hop, but nothing is exported.
package lambdatrace

import (
	"context"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/concertsys/platform/tracing"
)

// Environment variables Install reads (the SDK and exporter read them too).
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvSampler        = "OTEL_TRACES_SAMPLER"
	EnvSamplerArg     = "OTEL_TRACES_SAMPLER_ARG"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// Install makes an SDK tracer provider for service's function the global one and
// returns it; its Shutdown flushes what is left. getenv reads the OTLP endpoint
// variables; the sampler is the SDK's, which reads OTEL_TRACES_SAMPLER(_ARG) from
// the process environment itself.
func Install(service, function string, getenv func(string) string) *sdktrace.TracerProvider {
	res := resource.NewSchemaless(
		attribute.String("service.name", service),
		attribute.String("faas.name", function),
		attribute.String("cloud.provider", "aws"),
	)
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if u := TracesURL(getenv); u != "" {
		opts = append(opts, sdktrace.WithSpanProcessor(FlushAtRoot(sdktrace.NewBatchSpanProcessor(NewOTLPExporter(u, nil)))))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp
}

// FlushAtRoot wraps next so that the end of a span without a local parent (the
// span of one invocation) flushes next before the handler returns.
func FlushAtRoot(next sdktrace.SpanProcessor) sdktrace.SpanProcessor { return flushAtRoot{next} }

type flushAtRoot struct{ sdktrace.SpanProcessor }

func (p flushAtRoot) OnEnd(s sdktrace.ReadOnlySpan) {
	p.SpanProcessor.OnEnd(s)
	if parent := s.Parent(); !parent.IsValid() || parent.IsRemote() {
		// A failed export is reported by the SDK's error handler; the invocation goes on.
		_ = p.ForceFlush(context.Background())
	}
}

// Setup is what a function's main does first: it installs tracing from the
// environment (Install) and returns the function's logger, JSON on stdout with the
// service and function names and, on every line logged with a context, the trace,
// correlation and causation ids.
func Setup(service, function string) *slog.Logger {
	Install(service, function, os.Getenv)
	return slog.New(tracing.NewLogHandler(slog.NewJSONHandler(os.Stdout, nil))).With("service", service, "function", function)
}
