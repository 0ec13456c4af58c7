package tracing

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute names of the ids LogHandler adds.
const (
	LogTraceID       = "traceId"
	LogSpanID        = "spanId"
	LogCorrelationID = "correlationId"
	LogCausationID   = "causationId"
)

// LogHandler adds the trace id, span id, correlation id and causation id of the
// record's context to every record, so a log line can be looked up by the trace
// a client reports. Records logged without a context (Info instead of InfoContext)
// carry none: the services log with the Context methods.
type LogHandler struct{ next slog.Handler }

// NewLogHandler wraps next.
func NewLogHandler(next slog.Handler) *LogHandler { return &LogHandler{next: next} }

// Enabled implements slog.Handler.
func (h *LogHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String(LogTraceID, sc.TraceID().String()), slog.String(LogSpanID, sc.SpanID().String()))
		}
		if ids := IDsFrom(ctx); ids != (IDs{}) {
			r.AddAttrs(slog.String(LogCorrelationID, ids.CorrelationID), slog.String(LogCausationID, ids.CausationID))
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{next: h.next.WithGroup(name)}
}
