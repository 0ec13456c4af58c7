// Package eventsapi serves a bus.Bus over HTTP: the EventBridge JSON 1.1 API that the
// AWS SDK for Go v2 eventbridge client speaks, plus developer endpoints.
//
// Mount the handler at /_aws/events and /_aws/events/ (with or without
// http.StripPrefix) and point the SDK at it:
//
//	eventbridge.New(eventbridge.Options{BaseEndpoint: aws.String(serverURL + "/_aws/events"), ...})
//
// AWS API (POST, routed by X-Amz-Target, application/x-amz-json-1.1; errors are
// {"__type","message"} with X-Amzn-ErrorType, which the SDK decodes into typed errors):
//   - AWSEvents.PutEvents: 1..10 entries, summed entry size at most 1 MB, else
//     ValidationException; per-entry InvalidArgument, MalformedDetail,
//     NotAuthorizedForSourceException or ResourceNotFoundException (unknown EventBusName;
//     empty, the bus name and the bus ARN are known).
//   - AWSEvents.TestEventPattern: Result, InvalidEventPatternException for a bad pattern,
//     ValidationException for an Event lacking AWS's mandatory envelope fields.
//   - CreateArchive, DescribeArchive, ListArchives, UpdateArchive, DeleteArchive,
//     StartReplay, DescribeReplay, ListReplays, CancelReplay (see bus.Bus's archive
//     methods): ResourceNotFoundException, ResourceAlreadyExistsException,
//     ValidationException, InvalidEventPatternException, IllegalStatusException and
//     LimitExceededException (too many replays at once) as EventBridge answers them.
//   - ListRules, DescribeRule, ListTargetsByRule: the subscribed rules (ARNs
//     arn:aws:events:REGION:ACCOUNT:rule/BUS/NAME, Lambda function targets).
//   - anything else: UnknownOperationException.
//
// Developer endpoints (JSON; errors application/problem+json):
//   - GET  .../tail?pattern=<event pattern>&limit=<n>: newline-delimited JSON events, live
//   - GET  .../dead-letters: {"deadLetters":[...]}
//   - POST .../dead-letters/redrive {"ids":[...]} or {"all":true}: {"redriven":n}
//   - GET  .../stats: the bus counters
package eventsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/eventpattern"
)

// Operations served, as the SDK names them in X-Amz-Target.
const (
	TargetPrefix           = "AWSEvents."
	OpPutEvents            = TargetPrefix + "PutEvents"
	OpTestEventPattern     = TargetPrefix + "TestEventPattern"
	contentTypeJSON11      = "application/x-amz-json-1.1"
	maxAPIBodyBytes        = 8 << 20 // 1 MB of entries may escape to several MB of JSON
	errValidation          = "ValidationException"
	errSerialization       = "SerializationException"
	errUnknownOperation    = "UnknownOperationException"
	errInvalidEventPattern = "InvalidEventPatternException"
	errInternal            = "InternalException"
)

// Options tune the handler.
type Options struct {
	// AllowPartialTestEvents makes TestEventPattern accept any JSON object as Event.
	// AWS requires the envelope fields id, account, source, time, region, resources
	// and detail-type; the relaxation exists for pattern conformance vectors whose
	// events are fragments.
	AllowPartialTestEvents bool
}

// Handler serves the API for one bus.
type Handler struct {
	bus  *bus.Bus
	opts Options
}

// NewHandler serves b with AWS's validation.
func NewHandler(b *bus.Bus) http.Handler { return NewHandlerWithOptions(b, Options{}) }

// NewHandlerWithOptions serves b with opts.
func NewHandlerWithOptions(b *bus.Bus, opts Options) *Handler {
	return &Handler{bus: b, opts: opts}
}

// ServeHTTP routes developer endpoints by path suffix so the handler works whether or
// not the mount prefix was stripped, and everything else as the AWS API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasSuffix(p, "/tail") || p == "tail":
		h.serveTail(w, r)
	case strings.HasSuffix(p, "/dead-letters/redrive") || p == "dead-letters/redrive":
		h.serveRedrive(w, r)
	case strings.HasSuffix(p, "/dead-letters") || p == "dead-letters":
		h.serveDeadLetters(w, r)
	case strings.HasSuffix(p, "/stats") || p == "stats":
		h.serveStats(w, r)
	default:
		h.serveAPI(w, r)
	}
}

// apiError is the JSON 1.1 error body; the SDK reads the type from X-Amzn-ErrorType
// or __type and decodes modeled ones into typed errors.
type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", contentTypeJSON11)
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Type: typ, Message: msg})
}

func writeAPIResult(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, errInternal, "encode response")
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON11)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeAPIError(w, http.StatusMethodNotAllowed, errUnknownOperation, "the EventBridge API only accepts POST")
		return
	}
	op := r.Header.Get("X-Amz-Target")
	if _, ok := archiveOps[op]; !ok && op != OpPutEvents && op != OpTestEventPattern {
		writeAPIError(w, http.StatusBadRequest, errUnknownOperation, fmt.Sprintf("operation %q is not supported; supported: PutEvents, TestEventPattern, archives, replays and ListRules, DescribeRule, ListTargetsByRule", op))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil ||
		(mt != contentTypeJSON11 && mt != "application/json") {
		writeAPIError(w, http.StatusBadRequest, errSerialization, "Content-Type must be "+contentTypeJSON11)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeAPIError(w, http.StatusRequestEntityTooLarge, errValidation, fmt.Sprintf("request body exceeds %d bytes", maxAPIBodyBytes))
			return
		}
		writeAPIError(w, http.StatusBadRequest, errSerialization, "read request body: "+err.Error())
		return
	}
	switch op {
	case OpPutEvents:
		h.putEvents(w, r, body)
	case OpTestEventPattern:
		h.testEventPattern(w, body)
	default:
		archiveOps[op](h, w, body)
	}
}

// decodeAPI decodes a JSON 1.1 request. Unknown members are ignored, as AWS does, so a
// newer SDK still works; wrong types are a SerializationException.
func decodeAPI(w http.ResponseWriter, body []byte, dst any) bool {
	if err := json.Unmarshal(body, dst); err != nil {
		writeAPIError(w, http.StatusBadRequest, errSerialization, "request body is not a valid JSON 1.1 request: "+err.Error())
		return false
	}
	return true
}

type putEventsRequest struct {
	Entries    []putEventsEntry `json:"Entries"`
	EndpointID string           `json:"EndpointId"`
}

type putEventsEntry struct {
	Source       string   `json:"Source"`
	DetailType   string   `json:"DetailType"`
	Detail       string   `json:"Detail"`
	Resources    []string `json:"Resources"`
	EventBusName string   `json:"EventBusName"`
	TraceHeader  string   `json:"TraceHeader"`
	Time         *float64 `json:"Time"` // JSON 1.1 timestamps are epoch seconds
}

type putEventsResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

type putEventsResponse struct {
	FailedEntryCount int                    `json:"FailedEntryCount"`
	Entries          []putEventsResultEntry `json:"Entries"`
}

func epochTime(sec float64) time.Time {
	whole, frac := math.Modf(sec)
	return time.Unix(int64(whole), int64(frac*1e9)).UTC()
}

// knownBus reports whether name addresses this bus: empty (the caller's default bus),
// its name or its ARN.
func (h *Handler) knownBus(name string) bool {
	return name == "" || name == h.bus.Name() || name == h.bus.ARN()
}

func (h *Handler) putEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	var req putEventsRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	switch n := len(req.Entries); {
	case n == 0:
		writeAPIError(w, http.StatusBadRequest, errValidation, "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1")
		return
	case n > bus.MaxEntriesPerPut:
		writeAPIError(w, http.StatusBadRequest, errValidation, fmt.Sprintf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to %d", bus.MaxEntriesPerPut))
		return
	}
	entries := make([]bus.Entry, len(req.Entries))
	total := 0
	for i, e := range req.Entries {
		entries[i] = bus.Entry{Source: e.Source, DetailType: e.DetailType, Resources: e.Resources}
		if e.Detail != "" {
			entries[i].Detail = json.RawMessage(e.Detail)
		}
		if e.Time != nil {
			entries[i].Time = epochTime(*e.Time)
		}
		total += bus.EntrySize(entries[i])
	}
	if total > bus.MaxEntriesSize {
		writeAPIError(w, http.StatusBadRequest, errValidation, "Total size of the entries in the request is over the limit.")
		return
	}

	results := make([]putEventsResultEntry, len(entries))
	var toPut []bus.Entry
	var idx []int
	for i, e := range req.Entries {
		if !h.knownBus(e.EventBusName) {
			results[i] = putEventsResultEntry{ErrorCode: bus.ErrorCodeResourceNotFound, ErrorMessage: fmt.Sprintf("Event bus %s does not exist.", e.EventBusName)}
			continue
		}
		toPut = append(toPut, entries[i])
		idx = append(idx, i)
	}
	if len(toPut) > 0 {
		put, err := h.bus.Put(r.Context(), toPut)
		if err != nil {
			writeAPIError(w, http.StatusInternalServerError, errInternal, "put events: "+err.Error())
			return
		}
		for j, res := range put {
			results[idx[j]] = putEventsResultEntry{EventID: res.EventID, ErrorCode: res.ErrorCode, ErrorMessage: res.ErrorMessage}
		}
	}
	resp := putEventsResponse{Entries: results}
	for _, res := range results {
		if res.ErrorCode != "" {
			resp.FailedEntryCount++
		}
	}
	writeAPIResult(w, resp)
}

type testEventPatternRequest struct {
	EventPattern *string `json:"EventPattern"`
	Event        *string `json:"Event"`
}

type testEventPatternResponse struct {
	Result bool `json:"Result"`
}

// requiredEventFields are the envelope fields AWS's TestEventPattern requires of Event.
var requiredEventFields = []string{"id", "account", "source", "time", "region", "resources", "detail-type"}

func (h *Handler) testEventPattern(w http.ResponseWriter, body []byte) {
	var req testEventPatternRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	if req.EventPattern == nil || req.Event == nil {
		writeAPIError(w, http.StatusBadRequest, errValidation, "EventPattern and Event are required")
		return
	}
	p, err := eventpattern.Compile([]byte(*req.EventPattern))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, errInvalidEventPattern, "Event pattern is not valid. Reason: "+err.Error())
		return
	}
	event := []byte(*req.Event)
	if msg := h.checkTestEvent(event); msg != "" {
		writeAPIError(w, http.StatusBadRequest, errValidation, "Parameter Event is not valid. Reason: "+msg)
		return
	}
	ok, err := p.Match(event)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, errValidation, "Parameter Event is not valid. Reason: "+err.Error())
		return
	}
	writeAPIResult(w, testEventPatternResponse{Result: ok})
}

// checkTestEvent returns why event is not acceptable to TestEventPattern, or "".
func (h *Handler) checkTestEvent(event []byte) string {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(event, &fields); err != nil || fields == nil {
		return "Event is not a JSON object."
	}
	if h.opts.AllowPartialTestEvents {
		return ""
	}
	for _, name := range requiredEventFields {
		v, ok := fields[name]
		if !ok {
			return fmt.Sprintf("Provided Event is missing required field %s.", name)
		}
		if name == "resources" {
			var res []string
			if err := json.Unmarshal(v, &res); err != nil || res == nil {
				return "Field resources must be an array of strings."
			}
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Sprintf("Field %s must be a string.", name)
		}
		if name == "time" {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return "Field time must be an RFC 3339 timestamp."
			}
		}
	}
	return ""
}
