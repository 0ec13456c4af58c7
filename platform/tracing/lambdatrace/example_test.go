package lambdatrace_test

import (
	"context"
	"fmt"

	"github.com/concertsys/platform/tracing"
	"github.com/concertsys/platform/tracing/lambdatrace"
)

// A function's main installs the SDK from its environment; without an OTLP endpoint
// spans are made (their ids reach the logs and the next hop) and nothing is exported.
func ExampleInstall() {
	// The sampler is the SDK's, from OTEL_TRACES_SAMPLER(_ARG) (unset: always on).
	tp := lambdatrace.Install("projections", "project-concerts", func(string) string { return "" })
	defer tp.Shutdown(context.Background())
	ctx, span := tracing.Start(context.Background(), "projections/project-concerts")
	defer span.End()
	fmt.Println(len(tracing.TraceID(ctx)), span.SpanContext().IsSampled())
	// Output: 32 true
}
