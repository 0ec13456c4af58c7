package tracing_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/concertsys/platform/tracing"
)

// A hop continues the trace of the previous one from the traceparent it was handed
// (here without an SDK installed: the context still propagates unchanged), and its
// log lines carry the trace and the correlation and causation ids.
func Example() {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx, span := tracing.StartRemote(context.Background(), tp, "concerts/enrich-events")
	defer span.End()
	ctx = tracing.WithIDs(ctx, tracing.IDs{CorrelationID: "req-1", CausationID: "evt-1"})

	logger := slog.New(tracing.NewLogHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	logger.InfoContext(ctx, "enriched")
	fmt.Println(tracing.TraceID(ctx))
	fmt.Println(tracing.TraceIDOf(tracing.Traceparent(ctx)))
	// Output:
	// level=INFO msg=enriched traceId=4bf92f3577b34da6a3ce929d0e0e4736 spanId=00f067aa0ba902b7 correlationId=req-1 causationId=evt-1
	// 4bf92f3577b34da6a3ce929d0e0e4736
	// 4bf92f3577b34da6a3ce929d0e0e4736
}
