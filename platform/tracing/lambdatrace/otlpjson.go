package lambdatrace

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// OTLPExporter sends spans as OTLP/HTTP with the JSON encoding
// (Content-Type application/json, POST <endpoint>/v1/traces), which every OTLP
// collector accepts, the ADOT Lambda layer's included. It is this package's own
// because the OpenTelemetry exporter otlptracehttp links gRPC and protobuf for its
// configuration types, doubling every function's binary (10.5 → 21 MB measured).
type OTLPExporter struct {
	url    string
	client *http.Client
}

// NewOTLPExporter exports to url, the full traces URL (…/v1/traces).
func NewOTLPExporter(url string, client *http.Client) *OTLPExporter {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &OTLPExporter{url: url, client: client}
}

// TracesURL is the traces URL the OTLP environment variables name: the signal's own
// endpoint as it is, or the base endpoint with /v1/traces appended; "" when neither
// is set.
func TracesURL(getenv func(string) string) string {
	if u := getenv(EnvTracesEndpoint); u != "" {
		return u
	}
	if u := getenv(EnvEndpoint); u != "" {
		return strings.TrimRight(u, "/") + "/v1/traces"
	}
	return ""
}

// ExportSpans implements sdktrace.SpanExporter.
func (e *OTLPExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := json.Marshal(encodeSpans(spans))
	if err != nil {
		return fmt.Errorf("otlp: encode %d spans: %w", len(spans), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("otlp: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("otlp: export %d spans: %w", len(spans), err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("otlp: export %d spans: %s: %s", len(spans), resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// Shutdown implements sdktrace.SpanExporter.
func (e *OTLPExporter) Shutdown(context.Context) error { return nil }

// The OTLP/JSON shapes (opentelemetry-proto, JSON mapping): ids in hex, 64-bit
// integers as decimal strings, enums as numbers.
type (
	otlpRequest struct {
		ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
	}
	otlpResourceSpans struct {
		Resource   otlpResource     `json:"resource"`
		ScopeSpans []otlpScopeSpans `json:"scopeSpans"`
	}
	otlpResource struct {
		Attributes []otlpKeyValue `json:"attributes"`
	}
	otlpScopeSpans struct {
		Scope otlpScope  `json:"scope"`
		Spans []otlpSpan `json:"spans"`
	}
	otlpScope struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
	}
	otlpSpan struct {
		TraceID           string         `json:"traceId"`
		SpanID            string         `json:"spanId"`
		ParentSpanID      string         `json:"parentSpanId,omitempty"`
		Name              string         `json:"name"`
		Kind              int            `json:"kind"`
		StartTimeUnixNano string         `json:"startTimeUnixNano"`
		EndTimeUnixNano   string         `json:"endTimeUnixNano"`
		Attributes        []otlpKeyValue `json:"attributes,omitempty"`
		Events            []otlpEvent    `json:"events,omitempty"`
		Status            otlpStatus     `json:"status"`
	}
	otlpEvent struct {
		TimeUnixNano string         `json:"timeUnixNano"`
		Name         string         `json:"name"`
		Attributes   []otlpKeyValue `json:"attributes,omitempty"`
	}
	otlpStatus struct {
		Code    int    `json:"code,omitempty"`
		Message string `json:"message,omitempty"`
	}
	otlpKeyValue struct {
		Key   string         `json:"key"`
		Value map[string]any `json:"value"`
	}
)

// OTLP status codes: 0 unset, 1 ok, 2 error (OpenTelemetry's codes.Code numbers
// Error and Ok the other way round).
var statusCodes = map[codes.Code]int{codes.Unset: 0, codes.Ok: 1, codes.Error: 2}

func encodeSpans(spans []sdktrace.ReadOnlySpan) otlpRequest {
	// One resource per provider (a function has one), one scope per tracer.
	var out otlpRequest
	byScope := map[string]*otlpScopeSpans{}
	rs := otlpResourceSpans{Resource: otlpResource{Attributes: encodeAttrs(spans[0].Resource().Attributes())}}
	var order []string
	for _, s := range spans {
		scope := s.InstrumentationScope()
		ss, ok := byScope[scope.Name]
		if !ok {
			ss = &otlpScopeSpans{Scope: otlpScope{Name: scope.Name, Version: scope.Version}}
			byScope[scope.Name] = ss
			order = append(order, scope.Name)
		}
		span := otlpSpan{
			TraceID:           s.SpanContext().TraceID().String(),
			SpanID:            s.SpanContext().SpanID().String(),
			Name:              s.Name(),
			Kind:              int(s.SpanKind()), // the same numbers as OTLP's SpanKind
			StartTimeUnixNano: strconv.FormatInt(s.StartTime().UnixNano(), 10),
			EndTimeUnixNano:   strconv.FormatInt(s.EndTime().UnixNano(), 10),
			Attributes:        encodeAttrs(s.Attributes()),
			Status:            otlpStatus{Code: statusCodes[s.Status().Code], Message: s.Status().Description},
		}
		if p := s.Parent(); p.SpanID().IsValid() {
			span.ParentSpanID = p.SpanID().String()
		}
		for _, ev := range s.Events() {
			span.Events = append(span.Events, otlpEvent{TimeUnixNano: strconv.FormatInt(ev.Time.UnixNano(), 10),
				Name: ev.Name, Attributes: encodeAttrs(ev.Attributes)})
		}
		ss.Spans = append(ss.Spans, span)
	}
	for _, name := range order {
		rs.ScopeSpans = append(rs.ScopeSpans, *byScope[name])
	}
	out.ResourceSpans = []otlpResourceSpans{rs}
	return out
}

func encodeAttrs(kvs []attribute.KeyValue) []otlpKeyValue {
	out := make([]otlpKeyValue, 0, len(kvs))
	for _, kv := range kvs {
		var v map[string]any
		switch kv.Value.Type() {
		case attribute.BOOL:
			v = map[string]any{"boolValue": kv.Value.AsBool()}
		case attribute.INT64:
			v = map[string]any{"intValue": strconv.FormatInt(kv.Value.AsInt64(), 10)}
		case attribute.FLOAT64:
			v = map[string]any{"doubleValue": kv.Value.AsFloat64()}
		default: // strings, and slices as their string form
			v = map[string]any{"stringValue": kv.Value.Emit()}
		}
		out = append(out, otlpKeyValue{Key: string(kv.Key), Value: v})
	}
	return out
}
