package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/platform/tracing"
)

// The trace context enters every function here, once per trigger type: each handler
// runs in a span named SpanName(service, function), continuing the caller's W3C
// traceparent (an HTTP header, or detail.metadata.traceparent of a bus event), and
// its context carries the correlation and causation ids the log handler writes on
// every line. Enrichers are traced per record by the service (each record carries
// its own trace), so they are left as they are.

// SpanName is the name of the span a function's invocation runs in.
func SpanName(service, function string) string { return service + "/" + function }

// traced wraps every handler of s (after Attach bound them).
func (s *Service) traced() {
	for i := range s.HTTPRoutes {
		r := &s.HTTPRoutes[i]
		r.Handler = tracedHTTP(SpanName(s.Name, r.Function), r.RouteKey, r.Handler)
	}
	for i := range s.WebSocketRoutes {
		r := &s.WebSocketRoutes[i]
		r.Handler = tracedWebSocket(SpanName(s.Name, r.Function), r.RouteKey, r.Handler)
	}
	for i := range s.Consumers {
		c := &s.Consumers[i]
		c.Handler = TracedTarget(SpanName(s.Name, c.Function), c.Subscription.Name, c.Handler)
	}
	for i := range s.Jobs {
		j := &s.Jobs[i]
		j.Handler = tracedJob(SpanName(s.Name, j.Function), j.Handler)
	}
}

func tracedHTTP(name, route string, h HTTPHandler) HTTPHandler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		tp, _ := httpapi.LookupHeader(req.Headers, tracing.TraceparentHeader)
		if tracing.TraceIDOf(tp) == "" {
			ctx = tracing.ExtractLambda(ctx) // no caller's trace: join the invocation's X-Ray trace
		}
		ctx, span := tracing.StartRemote(ctx, tp, name, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.route", route), attribute.String("http.request.method", req.RequestContext.HTTP.Method)))
		defer span.End()
		corr, ok := httpapi.LookupHeader(req.Headers, "X-Correlation-Id")
		if !ok {
			corr = req.RequestContext.RequestID
		}
		ctx = tracing.WithIDs(ctx, tracing.IDs{CorrelationID: corr, CausationID: req.RequestContext.RequestID})
		resp, err := h(ctx, req)
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if err == nil && resp.StatusCode >= 500 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		tracing.Fail(span, err)
		return resp, err
	}
}

func tracedWebSocket(name, route string, h WebSocketHandler) WebSocketHandler {
	return func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		ctx, span := tracing.Start(tracing.ExtractLambda(ctx), name, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("websocket.route", route), attribute.String("websocket.connection_id", req.RequestContext.ConnectionID)))
		defer span.End()
		ctx = tracing.WithIDs(ctx, tracing.IDs{CorrelationID: req.RequestContext.RequestID, CausationID: req.RequestContext.ConnectionID})
		resp, err := h(ctx, req)
		tracing.Fail(span, err)
		return resp, err
	}
}

// TracedTarget wraps a bus target: its span continues the event's
// detail.metadata.traceparent (or ctx's span, when the caller traced the delivery), and its context carries the event's correlation id
// and, as causation, the event's id.
func TracedTarget(name, rule string, h subscription.Target) subscription.Target {
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		m, _ := envelope.ReadMetadata(ev.Detail) // the target itself reports a bad detail
		if sc := trace.SpanContextFromContext(ctx); !sc.IsValid() || m.Traceparent != "" && sc.TraceID().String() != tracing.TraceIDOf(m.Traceparent) {
			// The event's metadata is the carrier that always crosses; a traced delivery
			// (a local bus's span, or the AWSTraceHeader of the SQS message) comes in ctx
			// and is the parent only when it is in the event's own trace.
			ctx = tracing.Extract(ctx, m.Traceparent)
		}
		ctx, span := tracing.Start(ctx, name, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("messaging.destination.name", rule), attribute.String("messaging.message.id", ev.ID),
				tracing.AttrEventType.String(ev.DetailType), tracing.AttrEventID.String(m.EventID),
				tracing.AttrAggregateID.String(m.AggregateID), tracing.AttrVersion.String(strconv.FormatInt(m.AggregateVersion, 10))))
		defer span.End()
		ctx = tracing.WithIDs(ctx, tracing.IDs{CorrelationID: m.CorrelationID, CausationID: m.EventID})
		err := h(ctx, ev)
		tracing.Fail(span, err)
		return err
	}
}

func tracedJob(name string, h JobHandler) JobHandler {
	return func(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
		ctx, span := tracing.Start(tracing.ExtractLambda(ctx), name)
		defer span.End()
		id := tracing.TraceID(ctx)
		ctx = tracing.WithIDs(ctx, tracing.IDs{CorrelationID: id, CausationID: id})
		out, err := h(ctx, input)
		tracing.Fail(span, err)
		return out, err
	}
}
