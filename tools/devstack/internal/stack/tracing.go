package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/tracing"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/queue"
	"github.com/concertsys/tools/local/spanstore"
)

// Span names of the hops devstack itself plays (on AWS: EventBridge).
const (
	SpanBusDelivery   = "bus deliver"     // + " " + rule
	SpanBusDeadLetter = "bus dead-letter" // + " " + rule
)

// The OpenTelemetry tracer provider is global in a process, and tests run several
// stacks in one: one provider is installed once, always sampling (a developer's
// machine traces everything), and each stack registers its own processors on it (its
// span store, its -otlp exporter) while it runs. A trace id is unique, so a stack's
// store holding another stack's spans too never mixes two traces up.
var (
	providerOnce sync.Once
	provider     *sdktrace.TracerProvider
)

func tracerProvider() *sdktrace.TracerProvider {
	providerOnce.Do(func() {
		provider = sdktrace.NewTracerProvider(
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "devstack"))),
		)
		otel.SetTracerProvider(provider)
		otel.SetTextMapPropagator(propagation.TraceContext{})
	})
	return provider
}

// startTracing registers the stack's span store and, with an endpoint, an OTLP/HTTP
// exporter (otlptracehttp: any collector) on the process's provider; the returned
// function unregisters and flushes them.
func startTracing(ctx context.Context, store *spanstore.Store, otlpEndpoint string) (func(context.Context) error, error) {
	tp := tracerProvider()
	// Synchronous: a span is in the store when it ends, so the inspector (and the
	// tests) see a hop as soon as it finished.
	local := sdktrace.NewSimpleSpanProcessor(store)
	tp.RegisterSpanProcessor(local)
	procs := []sdktrace.SpanProcessor{local}
	if otlpEndpoint != "" {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlpEndpoint))
		if err != nil {
			tp.UnregisterSpanProcessor(local)
			return nil, fmt.Errorf("-otlp %s: %w", otlpEndpoint, err)
		}
		batch := sdktrace.NewBatchSpanProcessor(exp)
		tp.RegisterSpanProcessor(batch)
		procs = append(procs, batch)
	}
	return func(ctx context.Context) error {
		var first error
		for _, p := range procs {
			tp.UnregisterSpanProcessor(p) // flushes and shuts p down
			if err := p.Shutdown(ctx); err != nil && first == nil {
				first = err
			}
		}
		return first
	}, nil
}

// busTracer makes the bus's hop visible: each delivery attempt is a span, child of
// the event's detail.metadata.traceparent, and the target runs inside it; a dead
// letter is a failed span of its own. It also feeds the inspector's counters.
type busTracer struct {
	inspect *inspector
}

var _ bus.Observer = busTracer{}

func eventTraceparent(detail json.RawMessage) string {
	m, _ := envelope.ReadMetadata(detail) // no metadata: a new trace
	return m.Traceparent
}

func (t busTracer) StartAttempt(ctx context.Context, rule string, ev events.EventBridgeEvent, attempt int) (context.Context, func(error)) {
	ctx, span := tracing.StartRemote(ctx, eventTraceparent(ev.Detail), SpanBusDelivery+" "+rule,
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
			attribute.String("messaging.destination.name", rule), attribute.String("messaging.message.id", ev.ID),
			attribute.Int("concertsys.attempt", attempt), tracing.AttrEventType.String(ev.DetailType),
			attribute.String("concertsys.source", ev.Source)))
	return ctx, func(err error) {
		tracing.Fail(span, err)
		span.End()
		if t.inspect != nil {
			t.inspect.attempted(rule, attempt, err)
		}
	}
}

func (t busTracer) DeadLettered(rule string, dl bus.DeadLetter) {
	t.deadLettered(rule, dl.Event, dl.Reason, dl.Attempts, dl.LastError)
}

// queueDeadLettered is the same for a message a rule's queue moved to its
// dead-letter queue after maxReceiveCount receives (its body is the event).
func (t busTracer) queueDeadLettered(rule string, m queue.Message) {
	var ev events.EventBridgeEvent
	_ = json.Unmarshal([]byte(m.Body), &ev) // a body that is not an event is shown empty
	t.deadLettered(rule, ev, queue.ReasonMaxReceiveCount, m.ReceiveCount, m.LastError)
}

func (t busTracer) deadLettered(rule string, ev events.EventBridgeEvent, reason string, attempts int, lastError string) {
	_, span := tracing.StartRemote(context.Background(), eventTraceparent(ev.Detail), SpanBusDeadLetter+" "+rule,
		trace.WithAttributes(attribute.String("messaging.destination.name", rule), attribute.String("messaging.message.id", ev.ID),
			attribute.String("concertsys.reason", reason), attribute.Int("concertsys.attempts", attempts)))
	tracing.Fail(span, fmt.Errorf("%s: %s", reason, lastError))
	span.End()
	if t.inspect != nil {
		t.inspect.deadLettered(rule)
	}
}
