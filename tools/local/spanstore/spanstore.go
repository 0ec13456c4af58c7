// Package spanstore keeps the most recent finished spans of a process in memory, for
// devstack's inspector: an OpenTelemetry SpanExporter over a ring of at most Limit
// spans, the oldest overwritten first (and counted as evicted), so tracing never grows
// devstack's memory without bound.
package spanstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultLimit is the number of spans a store keeps unless told otherwise: about a
// thousand commands' worth of full paths (write, append, enrichment, deliveries,
// projection, publish, fan-out).
const DefaultLimit = 20000

// Span is a finished span as the inspector shows it.
type Span struct {
	TraceID  string            `json:"traceId"`
	SpanID   string            `json:"spanId"`
	ParentID string            `json:"parentId,omitempty"`
	Name     string            `json:"name"`
	Kind     string            `json:"kind"`
	Start    time.Time         `json:"start"`
	End      time.Time         `json:"end"`
	Attrs    map[string]string `json:"attrs,omitempty"`
	// Error is the status description of a failed span ("" when it did not fail).
	Failed bool   `json:"failed,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Duration is End - Start.
func (s Span) Duration() time.Duration { return s.End.Sub(s.Start) }

// Store is a bounded ring of spans, safe for concurrent use.
type Store struct {
	mu      sync.RWMutex
	ring    []Span
	next    int // where the next span goes
	full    bool
	evicted uint64
	limit   int
}

// New returns a store of at most limit spans (DefaultLimit when limit <= 0).
func New(limit int) *Store {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return &Store{ring: make([]Span, limit), limit: limit}
}

// ExportSpans implements sdktrace.SpanExporter.
func (s *Store) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	converted := make([]Span, len(spans))
	for i, sp := range spans {
		converted[i] = convert(sp)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range converted {
		if s.full {
			s.evicted++
		}
		s.ring[s.next] = sp
		s.next++
		if s.next == s.limit {
			s.next, s.full = 0, true
		}
	}
	return nil
}

// Shutdown implements sdktrace.SpanExporter; the spans stay readable.
func (s *Store) Shutdown(context.Context) error { return nil }

func convert(sp sdktrace.ReadOnlySpan) Span {
	out := Span{
		TraceID: sp.SpanContext().TraceID().String(),
		SpanID:  sp.SpanContext().SpanID().String(),
		Name:    sp.Name(),
		Kind:    sp.SpanKind().String(),
		Start:   sp.StartTime(),
		End:     sp.EndTime(),
	}
	if p := sp.Parent(); p.SpanID().IsValid() {
		out.ParentID = p.SpanID().String()
	}
	if attrs := sp.Attributes(); len(attrs) > 0 {
		out.Attrs = make(map[string]string, len(attrs))
		for _, kv := range attrs {
			out.Attrs[string(kv.Key)] = kv.Value.Emit()
		}
	}
	if st := sp.Status(); st.Code == codes.Error {
		out.Failed, out.Error = true, st.Description
	}
	return out
}

// Stats say how full the store is.
type Stats struct {
	Spans   int    `json:"spans"`
	Limit   int    `json:"limit"`
	Evicted uint64 `json:"evicted"` // spans overwritten by newer ones
}

// Stats reports the store's fill.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.next
	if s.full {
		n = s.limit
	}
	return Stats{Spans: n, Limit: s.limit, Evicted: s.evicted}
}

// Select returns the spans keep accepts, ordered by start time.
func (s *Store) Select(keep func(Span) bool) []Span {
	s.mu.RLock()
	var out []Span
	n := s.next
	if s.full {
		n = s.limit
	}
	for i := range n {
		if keep(s.ring[i]) {
			out = append(out, s.ring[i])
		}
	}
	s.mu.RUnlock()
	slices.SortStableFunc(out, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return out
}

// Trace returns the spans of one trace, ordered by start time.
func (s *Store) Trace(traceID string) []Span {
	return s.Select(func(sp Span) bool { return sp.TraceID == traceID })
}
