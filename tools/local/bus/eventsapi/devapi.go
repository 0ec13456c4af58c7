package eventsapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/tools/local/bus"
)

// The developer endpoints are not AWS APIs: they answer JSON and, on error,
// application/problem+json like the rest of devstack.

// DeadLettersResponse is the body of GET .../dead-letters.
type DeadLettersResponse struct {
	DeadLetters []bus.DeadLetter `json:"deadLetters"`
	// NextCursor is the cursor of the next page; absent on the last one.
	NextCursor string `json:"nextCursor,omitempty"`
}

// DefaultDeadLetterPage is the page size of GET .../dead-letters without limit.
const DefaultDeadLetterPage = 100

// RedriveRequest is the body of POST .../dead-letters/redrive: either ids, or all.
type RedriveRequest struct {
	IDs []string `json:"ids,omitempty"`
	All bool     `json:"all,omitempty"`
}

// RedriveResponse is the answer to a redrive.
type RedriveResponse struct {
	Redriven int `json:"redriven"`
}

const maxDevBodyBytes = 1 << 20

func (h *Handler) serveDeadLetters(w http.ResponseWriter, r *http.Request) {
	if !allowOnly(w, r, http.MethodGet, "use GET to list dead letters") {
		return
	}
	q := r.URL.Query()
	limit := DefaultDeadLetterPage
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s[0])
		if len(s) != 1 || err != nil || n < 1 || n > bus.MaxDeadLetterPage {
			httpapi.WriteProblem(w, r, http.StatusBadRequest, fmt.Sprintf("limit must be an integer 1..%d", bus.MaxDeadLetterPage))
			return
		}
		limit = n
	}
	cursor := q.Get("cursor")
	if _, ok := q["cursor"]; ok && cursor == "" {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "cursor must be a nextCursor from a previous page")
		return
	}
	dls, next, err := h.bus.DeadLetterPage(r.Context(), limit, cursor)
	if errors.Is(err, bus.ErrBadCursor) {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	if dls == nil {
		dls = []bus.DeadLetter{}
	}
	httpapi.WriteJSON(w, http.StatusOK, DeadLettersResponse{DeadLetters: dls, NextCursor: next})
}

func (h *Handler) serveRedrive(w http.ResponseWriter, r *http.Request) {
	if !allowOnly(w, r, http.MethodPost, "use POST to redrive dead letters") {
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		httpapi.WriteProblem(w, r, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDevBodyBytes))
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", maxDevBodyBytes))
		return
	}
	var req RedriveRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "body must be {\"ids\":[...]} or {\"all\":true}: "+err.Error())
		return
	}
	if dec.More() {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "body must hold exactly one JSON object")
		return
	}
	switch {
	case req.All && len(req.IDs) > 0:
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "give either ids or all, not both")
		return
	case !req.All && len(req.IDs) == 0:
		// Redriving everything must be asked for explicitly.
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "give ids to redrive, or \"all\":true")
		return
	}
	n, err := h.bus.Redrive(r.Context(), req.IDs...)
	switch {
	case errors.Is(err, bus.ErrDeadLetterMissing):
		httpapi.WriteProblem(w, r, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, bus.ErrClosed):
		httpapi.WriteProblem(w, r, http.StatusServiceUnavailable, err.Error())
		return
	case err != nil:
		httpapi.WriteProblem(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, RedriveResponse{Redriven: n})
}

// serveTail streams events as newline-delimited JSON until the client goes away, the
// bus closes or ?limit=N events were sent. ?pattern= filters with an event pattern.
func (h *Handler) serveTail(w http.ResponseWriter, r *http.Request) {
	if !allowOnly(w, r, http.MethodGet, "use GET to tail the bus") {
		return
	}
	limit := -1
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			httpapi.WriteProblem(w, r, http.StatusBadRequest, "limit must be a positive integer")
			return
		}
		limit = n
	}
	ch, err := h.bus.Tail(r.Context(), []byte(r.URL.Query().Get("pattern")))
	if errors.Is(err, bus.ErrTooManyTails) {
		w.Header().Set("Retry-After", "5")
		httpapi.WriteProblem(w, r, http.StatusTooManyRequests, err.Error())
		return
	}
	if errors.Is(err, bus.ErrClosed) {
		httpapi.WriteProblem(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	if err != nil {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	rc := http.NewResponseController(w)
	// A tail streams for as long as the client wants: the server's read and write
	// timeouts, meant for ordinary requests, do not apply to it.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush() // let the client see the stream is open before the first event
	enc := json.NewEncoder(w)
	for ev := range ch {
		if err := enc.Encode(ev); err != nil {
			return
		}
		if limit--; limit == 0 {
			_ = rc.Flush()
			return
		}
		// One write per burst rather than per event: what is already queued goes in
		// the same flush.
		if len(ch) > 0 {
			continue
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// serveStats answers the bus counters (GET .../stats), e.g. to see tail drops.
func (h *Handler) serveStats(w http.ResponseWriter, r *http.Request) {
	if !allowOnly(w, r, http.MethodGet, "use GET for stats") {
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, h.bus.Stats())
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// allowOnly answers 405 with an Allow header and the detail use unless r uses method.
func allowOnly(w http.ResponseWriter, r *http.Request, method, use string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	httpapi.WriteProblem(w, r, http.StatusMethodNotAllowed, use)
	return false
}
