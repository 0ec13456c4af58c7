// Package tracing carries a W3C trace context across every hop of an event's path
// (HTTP API → event log → Pipe enrichment → bus → consumers → ConcertViewUpdated →
// fan-out) with the OpenTelemetry API, and puts the trace, correlation and causation
// ids on every log line (LogHandler). It links only the OpenTelemetry API: who
// exports the spans (the Lambda OTLP route in tracing/lambdaexport, devstack's span
// store) installs the SDK's provider globally, and until then spans are no-ops that
// still propagate the caller's context.
package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TraceparentHeader is the W3C Trace Context header (and metadata field) name.
const TraceparentHeader = "traceparent"

// InstrumentationName names this system's tracer.
const InstrumentationName = "github.com/concertsys/platform/tracing"

// Attribute keys the spans carry, so the inspector can find a hop's event.
const (
	AttrEventID       = attribute.Key("concertsys.event_id")
	AttrAggregateID   = attribute.Key("concertsys.aggregate_id")
	AttrVersion       = attribute.Key("concertsys.aggregate_version")
	AttrEventType     = attribute.Key("concertsys.event_type")
	AttrCorrelationID = attribute.Key("concertsys.correlation_id")
	AttrFunction      = attribute.Key("faas.name")
)

var w3c = propagation.TraceContext{}

// Tracer is the tracer every hop starts its spans with; it follows the global
// provider, so a provider installed later is used from then on.
func Tracer() trace.Tracer { return otel.Tracer(InstrumentationName) }

// Start starts a span named name as a child of ctx's span.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return Tracer().Start(ctx, name, opts...)
}

// StartRemote starts a span whose parent is traceparent (a W3C traceparent value),
// the context a previous hop wrote into a record, a header or event metadata. An
// empty or malformed traceparent starts a new trace, so bad input never fails a hop.
func StartRemote(ctx context.Context, traceparent, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return Start(Extract(ctx, traceparent), name, opts...)
}

// Extract returns ctx with traceparent as its remote parent span context (ctx
// unchanged when traceparent is not a valid W3C value).
func Extract(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return w3c.Extract(ctx, propagation.MapCarrier{TraceparentHeader: strings.TrimSpace(traceparent)})
}

// Traceparent is the W3C traceparent of ctx's span, the value the next hop continues
// from; "" when ctx has no valid span context.
func Traceparent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	w3c.Inject(ctx, c)
	return c[TraceparentHeader]
}

// TraceID is the trace id of ctx's span as 32 lowercase hex digits, "" without one.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.TraceID().IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// TraceIDOf is the trace id of a traceparent value, "" when it is not valid.
func TraceIDOf(traceparent string) string {
	return TraceID(Extract(context.Background(), traceparent))
}

type idsKey struct{}

// IDs are the correlation and causation ids of the work ctx is doing: the log
// handler writes them on every line.
type IDs struct {
	CorrelationID string
	CausationID   string
}

// WithIDs returns ctx carrying ids.
func WithIDs(ctx context.Context, ids IDs) context.Context {
	return context.WithValue(ctx, idsKey{}, ids)
}

// IDsFrom returns the ids WithIDs put in ctx (zero without).
func IDsFrom(ctx context.Context) IDs {
	ids, _ := ctx.Value(idsKey{}).(IDs)
	return ids
}

// Fail marks span as failed with err (nothing when err is nil).
func Fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}
