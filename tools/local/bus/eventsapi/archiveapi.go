package eventsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/concertsys/tools/local/bus"
)

// Archive, replay and rule operations (EventBridge API reference names and shapes).
const (
	OpCreateArchive     = TargetPrefix + "CreateArchive"
	OpDescribeArchive   = TargetPrefix + "DescribeArchive"
	OpListArchives      = TargetPrefix + "ListArchives"
	OpUpdateArchive     = TargetPrefix + "UpdateArchive"
	OpDeleteArchive     = TargetPrefix + "DeleteArchive"
	OpStartReplay       = TargetPrefix + "StartReplay"
	OpDescribeReplay    = TargetPrefix + "DescribeReplay"
	OpListReplays       = TargetPrefix + "ListReplays"
	OpCancelReplay      = TargetPrefix + "CancelReplay"
	OpListRules         = TargetPrefix + "ListRules"
	OpDescribeRule      = TargetPrefix + "DescribeRule"
	OpListTargetsByRule = TargetPrefix + "ListTargetsByRule"

	errResourceNotFound      = "ResourceNotFoundException"
	errResourceAlreadyExists = "ResourceAlreadyExistsException"
	errIllegalStatus         = "IllegalStatusException"
	errLimitExceeded         = "LimitExceededException"
	maxListLimit             = 100
)

// ReadOnlyOps are the operations that only read the bus's configuration and state.
var ReadOnlyOps = []string{OpDescribeArchive, OpListArchives, OpDescribeReplay, OpListReplays, OpListRules, OpDescribeRule, OpListTargetsByRule}

type apiHandler func(h *Handler, w http.ResponseWriter, body []byte)

var archiveOps = map[string]apiHandler{
	OpCreateArchive:     (*Handler).createArchive,
	OpDescribeArchive:   (*Handler).describeArchive,
	OpListArchives:      (*Handler).listArchives,
	OpUpdateArchive:     (*Handler).updateArchive,
	OpDeleteArchive:     (*Handler).deleteArchive,
	OpStartReplay:       (*Handler).startReplay,
	OpDescribeReplay:    (*Handler).describeReplay,
	OpListReplays:       (*Handler).listReplays,
	OpCancelReplay:      (*Handler).cancelReplay,
	OpListRules:         (*Handler).listRules,
	OpDescribeRule:      (*Handler).describeRule,
	OpListTargetsByRule: (*Handler).listTargetsByRule,
}

// writeBusError maps the bus's errors to EventBridge's error types.
func writeBusError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, bus.ErrArchiveNotFound), errors.Is(err, bus.ErrReplayNotFound), errors.Is(err, bus.ErrRuleNotFound):
		writeAPIError(w, http.StatusBadRequest, errResourceNotFound, err.Error())
	case errors.Is(err, bus.ErrArchiveExists), errors.Is(err, bus.ErrReplayExists):
		writeAPIError(w, http.StatusBadRequest, errResourceAlreadyExists, err.Error())
	case errors.Is(err, bus.ErrInvalidPattern):
		writeAPIError(w, http.StatusBadRequest, errInvalidEventPattern, "Event pattern is not valid. Reason: "+err.Error())
	case errors.Is(err, bus.ErrInvalidArgument):
		writeAPIError(w, http.StatusBadRequest, errValidation, err.Error())
	case errors.Is(err, bus.ErrIllegalStatus):
		writeAPIError(w, http.StatusBadRequest, errIllegalStatus, err.Error())
	case errors.Is(err, bus.ErrTooManyReplays):
		writeAPIError(w, http.StatusBadRequest, errLimitExceeded, err.Error())
	default:
		writeAPIError(w, http.StatusInternalServerError, errInternal, err.Error())
	}
}

// epoch is a JSON 1.1 timestamp (epoch seconds); zero times are omitted by callers.
func epoch(t time.Time) *float64 {
	if t.IsZero() {
		return nil
	}
	f := float64(t.UnixNano()) / 1e9
	return &f
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// page returns items [start, start+limit) of n per NextToken (an offset) and Limit,
// and the next token ("" at the end).
func page(w http.ResponseWriter, n int, token string, limit *int) (start, end int, next string, ok bool) {
	if token != "" {
		v, err := strconv.Atoi(token)
		if err != nil || v < 0 || v > n {
			writeAPIError(w, http.StatusBadRequest, errValidation, "The NextToken is not valid.")
			return 0, 0, "", false
		}
		start = v
	}
	l := maxListLimit
	if limit != nil {
		if *limit < 1 || *limit > maxListLimit {
			writeAPIError(w, http.StatusBadRequest, errValidation, fmt.Sprintf("1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must be between 1 and %d", maxListLimit))
			return 0, 0, "", false
		}
		l = *limit
	}
	end = min(start+l, n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, true
}

type archiveRequest struct {
	ArchiveName    string  `json:"ArchiveName"`
	EventSourceArn string  `json:"EventSourceArn"`
	Description    *string `json:"Description"`
	EventPattern   *string `json:"EventPattern"`
	RetentionDays  *int    `json:"RetentionDays"`
}

type archiveResponse struct {
	ArchiveArn     string   `json:"ArchiveArn,omitempty"`
	ArchiveName    string   `json:"ArchiveName,omitempty"`
	CreationTime   *float64 `json:"CreationTime,omitempty"`
	Description    *string  `json:"Description,omitempty"`
	EventCount     *int64   `json:"EventCount,omitempty"`
	EventPattern   *string  `json:"EventPattern,omitempty"`
	EventSourceArn string   `json:"EventSourceArn,omitempty"`
	RetentionDays  *int     `json:"RetentionDays,omitempty"`
	SizeBytes      *int64   `json:"SizeBytes,omitempty"`
	State          string   `json:"State"`
}

func describeArchive(a bus.Archive) archiveResponse {
	return archiveResponse{ArchiveArn: a.ARN, ArchiveName: a.Name, CreationTime: epoch(a.CreationTime), Description: optString(a.Description),
		EventCount: &a.EventCount, EventPattern: optString(string(a.EventPattern)), EventSourceArn: a.SourceARN,
		RetentionDays: &a.RetentionDays, SizeBytes: &a.SizeBytes, State: a.State}
}

func (h *Handler) createArchive(w http.ResponseWriter, body []byte) {
	var req archiveRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	if req.EventSourceArn != h.bus.ARN() {
		writeAPIError(w, http.StatusBadRequest, errResourceNotFound, fmt.Sprintf("Event bus %s does not exist.", req.EventSourceArn))
		return
	}
	cfg := bus.ArchiveConfig{Name: req.ArchiveName}
	if req.Description != nil {
		cfg.Description = *req.Description
	}
	if req.EventPattern != nil {
		cfg.EventPattern = json.RawMessage(*req.EventPattern)
	}
	if req.RetentionDays != nil {
		cfg.RetentionDays = *req.RetentionDays
	}
	a, err := h.bus.CreateArchive(cfg)
	if err != nil {
		writeBusError(w, err)
		return
	}
	writeAPIResult(w, archiveResponse{ArchiveArn: a.ARN, CreationTime: epoch(a.CreationTime), State: a.State})
}

func (h *Handler) updateArchive(w http.ResponseWriter, body []byte) {
	var req archiveRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	cfg := bus.ArchiveConfig{Name: req.ArchiveName, RetentionDays: -1}
	if req.Description != nil {
		cfg.Description = *req.Description
	}
	if req.EventPattern != nil {
		cfg.EventPattern = json.RawMessage(*req.EventPattern)
	}
	if req.RetentionDays != nil {
		if *req.RetentionDays < 0 {
			writeAPIError(w, http.StatusBadRequest, errValidation, "RetentionDays must be at least 0")
			return
		}
		cfg.RetentionDays = *req.RetentionDays
	}
	a, err := h.bus.UpdateArchive(cfg)
	if err != nil {
		writeBusError(w, err)
		return
	}
	writeAPIResult(w, archiveResponse{ArchiveArn: a.ARN, CreationTime: epoch(a.CreationTime), State: a.State})
}

func (h *Handler) describeArchive(w http.ResponseWriter, body []byte) {
	var req archiveRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	a, err := h.bus.DescribeArchive(req.ArchiveName)
	if err != nil {
		writeBusError(w, err)
		return
	}
	writeAPIResult(w, describeArchive(a))
}

func (h *Handler) deleteArchive(w http.ResponseWriter, body []byte) {
	var req archiveRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	if err := h.bus.DeleteArchive(req.ArchiveName); err != nil {
		writeBusError(w, err)
		return
	}
	writeAPIResult(w, struct{}{})
}

type listRequest struct {
	EventSourceArn string `json:"EventSourceArn"`
	EventBusName   string `json:"EventBusName"`
	NamePrefix     string `json:"NamePrefix"`
	State          string `json:"State"`
	NextToken      string `json:"NextToken"`
	Limit          *int   `json:"Limit"`
	Rule           string `json:"Rule"`
	Name           string `json:"Name"`
}

func (h *Handler) listArchives(w http.ResponseWriter, body []byte) {
	var req listRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	all, err := h.bus.Archives()
	if err != nil {
		writeBusError(w, err)
		return
	}
	var sel []archiveResponse
	for _, a := range all {
		if strings.HasPrefix(a.Name, req.NamePrefix) && (req.State == "" || req.State == a.State) &&
			(req.EventSourceArn == "" || req.EventSourceArn == a.SourceARN) {
			d := describeArchive(a)
			d.ArchiveArn, d.Description, d.EventPattern = "", nil, nil // not in ListArchives's Archive shape
			sel = append(sel, d)
		}
	}
	start, end, next, ok := page(w, len(sel), req.NextToken, req.Limit)
	if !ok {
		return
	}
	writeAPIResult(w, struct {
		Archives  []archiveResponse `json:"Archives"`
		NextToken string            `json:"NextToken,omitempty"`
	}{Archives: append([]archiveResponse{}, sel[start:end]...), NextToken: next})
}

type replayRequest struct {
	ReplayName     string   `json:"ReplayName"`
	Description    string   `json:"Description"`
	EventSourceArn string   `json:"EventSourceArn"`
	EventStartTime *float64 `json:"EventStartTime"`
	EventEndTime   *float64 `json:"EventEndTime"`
	Destination    *struct {
		Arn        string   `json:"Arn"`
		FilterArns []string `json:"FilterArns"`
	} `json:"Destination"`
}

type replayDestination struct {
	Arn        string   `json:"Arn"`
	FilterArns []string `json:"FilterArns,omitempty"`
}

type replayResponse struct {
	ReplayArn             string             `json:"ReplayArn,omitempty"`
	ReplayName            string             `json:"ReplayName,omitempty"`
	Description           *string            `json:"Description,omitempty"`
	Destination           *replayDestination `json:"Destination,omitempty"`
	EventSourceArn        string             `json:"EventSourceArn,omitempty"`
	EventStartTime        *float64           `json:"EventStartTime,omitempty"`
	EventEndTime          *float64           `json:"EventEndTime,omitempty"`
	EventLastReplayedTime *float64           `json:"EventLastReplayedTime,omitempty"`
	ReplayStartTime       *float64           `json:"ReplayStartTime,omitempty"`
	ReplayEndTime         *float64           `json:"ReplayEndTime,omitempty"`
	State                 string             `json:"State"`
	StateReason           *string            `json:"StateReason,omitempty"`
}

func describeReplay(r bus.Replay) replayResponse {
	return replayResponse{ReplayArn: r.ARN, ReplayName: r.Name, Description: optString(r.Description),
		Destination:    &replayDestination{Arn: r.DestinationARN, FilterArns: r.FilterARNs},
		EventSourceArn: r.ArchiveARN, EventStartTime: epoch(r.Start), EventEndTime: epoch(r.End),
		EventLastReplayedTime: epoch(r.LastReplayedTime), ReplayStartTime: epoch(r.ReplayStartTime),
		ReplayEndTime: epoch(r.ReplayEndTime), State: r.State, StateReason: optString(r.StateReason)}
}

func (h *Handler) startReplay(w http.ResponseWriter, body []byte) {
	var req replayRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	if req.ReplayName == "" || req.EventSourceArn == "" || req.EventStartTime == nil || req.EventEndTime == nil || req.Destination == nil {
		writeAPIError(w, http.StatusBadRequest, errValidation, "ReplayName, EventSourceArn, EventStartTime, EventEndTime and Destination are required")
		return
	}
	r, err := h.bus.StartReplay(bus.ReplayConfig{Name: req.ReplayName, Description: req.Description, ArchiveARN: req.EventSourceArn,
		Start: epochTime(*req.EventStartTime), End: epochTime(*req.EventEndTime),
		DestinationARN: req.Destination.Arn, FilterARNs: req.Destination.FilterArns})
	if err != nil {
		writeBusError(w, err)
		return
	}
	writeAPIResult(w, replayResponse{ReplayArn: r.ARN, ReplayStartTime: epoch(r.ReplayStartTime), State: r.State})
}

func (h *Handler) describeReplay(w http.ResponseWriter, body []byte) {
	var req replayRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	r, err := h.bus.DescribeReplay(req.ReplayName)
	if err != nil {
		writeBusError(w, err)
		return
	}
	writeAPIResult(w, describeReplay(r))
}

func (h *Handler) cancelReplay(w http.ResponseWriter, body []byte) {
	var req replayRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	r, err := h.bus.CancelReplay(req.ReplayName)
	if err != nil {
		writeBusError(w, err)
		return
	}
	writeAPIResult(w, replayResponse{ReplayArn: r.ARN, State: r.State, StateReason: optString(r.StateReason)})
}

func (h *Handler) listReplays(w http.ResponseWriter, body []byte) {
	var req listRequest
	if !decodeAPI(w, body, &req) {
		return
	}
	var sel []replayResponse
	for _, r := range h.bus.Replays() {
		if strings.HasPrefix(r.Name, req.NamePrefix) && (req.State == "" || req.State == r.State) &&
			(req.EventSourceArn == "" || req.EventSourceArn == r.ArchiveARN) {
			d := describeReplay(r)
			d.ReplayArn, d.Description, d.Destination = "", nil, nil // not in ListReplays's Replay shape
			sel = append(sel, d)
		}
	}
	start, end, next, ok := page(w, len(sel), req.NextToken, req.Limit)
	if !ok {
		return
	}
	writeAPIResult(w, struct {
		Replays   []replayResponse `json:"Replays"`
		NextToken string           `json:"NextToken,omitempty"`
	}{Replays: append([]replayResponse{}, sel[start:end]...), NextToken: next})
}

type ruleResponse struct {
	Arn          string `json:"Arn"`
	Name         string `json:"Name"`
	EventBusName string `json:"EventBusName"`
	EventPattern string `json:"EventPattern,omitempty"`
	State        string `json:"State"`
}

func describeRule(r bus.RuleInfo) ruleResponse {
	return ruleResponse{Arn: r.ARN, Name: r.Name, EventBusName: r.EventBusName, EventPattern: string(r.EventPattern), State: r.State}
}

// checkBus answers ResourceNotFoundException for another bus.
func (h *Handler) checkBus(w http.ResponseWriter, name string) bool {
	if h.knownBus(name) {
		return true
	}
	writeAPIError(w, http.StatusBadRequest, errResourceNotFound, fmt.Sprintf("Event bus %s does not exist.", name))
	return false
}

func (h *Handler) listRules(w http.ResponseWriter, body []byte) {
	var req listRequest
	if !decodeAPI(w, body, &req) || !h.checkBus(w, req.EventBusName) {
		return
	}
	var sel []ruleResponse
	for _, r := range h.bus.Rules() {
		if strings.HasPrefix(r.Name, req.NamePrefix) {
			sel = append(sel, describeRule(r))
		}
	}
	start, end, next, ok := page(w, len(sel), req.NextToken, req.Limit)
	if !ok {
		return
	}
	writeAPIResult(w, struct {
		Rules     []ruleResponse `json:"Rules"`
		NextToken string         `json:"NextToken,omitempty"`
	}{Rules: append([]ruleResponse{}, sel[start:end]...), NextToken: next})
}

func (h *Handler) describeRule(w http.ResponseWriter, body []byte) {
	var req listRequest
	if !decodeAPI(w, body, &req) || !h.checkBus(w, req.EventBusName) {
		return
	}
	r, err := h.bus.Rule(req.Name)
	if err != nil {
		writeBusError(w, err)
		return
	}
	writeAPIResult(w, describeRule(r))
}

func (h *Handler) listTargetsByRule(w http.ResponseWriter, body []byte) {
	var req listRequest
	if !decodeAPI(w, body, &req) || !h.checkBus(w, req.EventBusName) {
		return
	}
	r, err := h.bus.Rule(req.Rule)
	if err != nil {
		writeBusError(w, err)
		return
	}
	type target struct {
		ID  string `json:"Id"`
		Arn string `json:"Arn"`
	}
	writeAPIResult(w, struct {
		Targets []target `json:"Targets"`
	}{Targets: []target{{ID: "Target0", Arn: r.TargetARN}}})
}
