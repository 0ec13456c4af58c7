package eventlog

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertsys/platform/tracing"
)

// SpanAppend is the name of the span of one Append through Traced.
const SpanAppend = "eventlog.Append"

// Traced is l with each Append in its own span, and every appended event that has
// no TraceParent yet stamped with that span's: the record carries the context of
// the write that stored it, so the Pipe's enrichment continues the trace from there.
func Traced(l Log) Log { return tracedLog{l} }

type tracedLog struct{ Log }

func (t tracedLog) Append(ctx context.Context, events []Event) error {
	attrs := []attribute.KeyValue{attribute.Int("concertsys.events", len(events))}
	if len(events) > 0 {
		attrs = append(attrs, tracing.AttrAggregateID.String(events[0].AggregateID),
			tracing.AttrVersion.String(strconv.FormatInt(events[0].Version, 10)), tracing.AttrEventType.String(events[0].EventType),
			tracing.AttrEventID.String(events[0].EventID))
	}
	ctx, span := tracing.Start(ctx, SpanAppend, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	if tp := tracing.Traceparent(ctx); tp != "" {
		stamped := make([]Event, len(events))
		for i, e := range events {
			if e.TraceParent == "" {
				e.TraceParent = tp
			}
			stamped[i] = e
		}
		events = stamped
	}
	err := t.Log.Append(ctx, events)
	tracing.Fail(span, err)
	return err
}
