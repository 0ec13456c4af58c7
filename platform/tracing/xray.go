package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// lambdaTraceKey is the context key under which aws-lambda-go hands a handler the
// invocation's X-Ray trace header (lambda/invoke_loop.go: a plain string key).
const lambdaTraceKey = "x-amzn-trace-id"

// XRayTraceparent converts an X-Ray trace header ("Root=1-5759e988-bd862e3fe1be46a994272793;
// Parent=53995c3f42cd8ad8;Sampled=1") into the W3C traceparent of the same trace and
// parent: X-Ray's trace id is the same 128 bits, written as version-epoch-random. ""
// when the header has no valid root and parent.
func XRayTraceparent(header string) string {
	var root, parent, sampled string
	for _, part := range strings.Split(header, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			root = v
		case "Parent":
			parent = v
		case "Sampled":
			sampled = v
		}
	}
	fields := strings.Split(root, "-")
	if len(fields) != 3 || fields[0] != "1" || len(fields[1]) != 8 || len(fields[2]) != 24 || len(parent) != 16 {
		return ""
	}
	flags := "00"
	if sampled == "1" {
		flags = "01"
	}
	tp := "00-" + strings.ToLower(fields[1]+fields[2]) + "-" + strings.ToLower(parent) + "-" + flags
	if TraceIDOf(tp) == "" {
		return ""
	}
	return tp
}

// ExtractLambda returns ctx with the Lambda invocation's X-Ray trace as its remote
// parent when ctx carries one (ctx unchanged otherwise): a hop that starts a trace
// (no caller's traceparent) joins the trace of the function's own X-Ray segment, so
// X-Ray shows the Lambda invocation and this system's spans as one trace.
func ExtractLambda(ctx context.Context) context.Context {
	h, _ := ctx.Value(lambdaTraceKey).(string)
	if h == "" {
		return ctx
	}
	return Extract(ctx, XRayTraceparent(h))
}

// XRayHeader is the X-Ray trace header of ctx's span ("" without one), as AWS writes
// it in an SQS message's AWSTraceHeader attribute: the inverse of XRayTraceparent.
func XRayHeader(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	id := sc.TraceID().String()
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	return "Root=1-" + id[:8] + "-" + id[8:] + ";Parent=" + sc.SpanID().String() + ";Sampled=" + sampled
}

// ExtractSQS returns ctx with the message's AWSTraceHeader (set when the sender was
// traced, e.g. EventBridge delivering to its SQS target) as its remote parent; ctx
// unchanged when the message has none.
func ExtractSQS(ctx context.Context, attributes map[string]string) context.Context {
	h := attributes["AWSTraceHeader"]
	if h == "" {
		return ctx
	}
	return Extract(ctx, XRayTraceparent(h))
}
