// Package domain is the WebSocket protocol of the notification service: parsing and
// validating client messages, and building every server message within API Gateway's
// size limit.
package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Client actions, the values of "action" that API Gateway's route selection
// expression $request.body.action maps to route keys.
const (
	ActionSubscribe   = "subscribe"
	ActionUnsubscribe = "unsubscribe"
)

// Server message types; "concert.updated" is the ConcertViewUpdated push (the wire
// name the protocol gives it).
const (
	MessageTypeSubscribed         = "subscribed"
	MessageTypeUnsubscribed       = "unsubscribed"
	MessageTypeConcertViewUpdated = "concert.updated"
	MessageTypeError              = "error"
)

const (
	// AllConcerts is the concert id that subscribes to every concert.
	AllConcerts = "*"
	// MaxConcertIDLength bounds a concert id; real ids are 36-character UUIDs.
	MaxConcertIDLength = 128
	// MaxClientMessageBytes bounds a client message; anything valid is far smaller.
	MaxClientMessageBytes = 4096
	// MaxMessageBytes is API Gateway's WebSocket message limit (128 KB).
	MaxMessageBytes = 128 * 1024
)

// ProtocolError is a client mistake; its message is safe to send back to the client.
type ProtocolError struct{ Message string }

func (e *ProtocolError) Error() string { return e.Message }

func protocolErrorf(format string, args ...any) error {
	return &ProtocolError{Message: fmt.Sprintf(format, args...)}
}

// ConcertID is what a connection subscribes to: one concert, or every concert ("*").
type ConcertID struct{ id string }

// ParseConcertID validates a concertId from a client: "*" or 1..MaxConcertIDLength
// characters of [A-Za-z0-9._:-]. The narrow alphabet keeps ids safe in store keys and
// log lines.
func ParseConcertID(concertID string) (ConcertID, error) {
	switch {
	case concertID == AllConcerts:
		return ConcertID{id: concertID}, nil
	case concertID == "":
		return ConcertID{}, protocolErrorf("concertId is required")
	case len(concertID) > MaxConcertIDLength:
		return ConcertID{}, protocolErrorf("concertId is longer than %d characters", MaxConcertIDLength)
	}
	for _, r := range concertID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r)) {
			return ConcertID{}, protocolErrorf("concertId may only contain letters, digits, '.', '_', ':' and '-', or be \"*\"")
		}
	}
	return ConcertID{id: concertID}, nil
}

// String is the concert id, or "*".
func (t ConcertID) String() string { return t.id }

// Command is a valid client message.
type Command struct {
	action    string
	concertID ConcertID
}

// Action is ActionSubscribe or ActionUnsubscribe.
func (c Command) Action() string { return c.action }

// ConcertID is the concert (or "*") the command is about.
func (c Command) ConcertID() ConcertID { return c.concertID }

// ParseCommand decodes a client message strictly: one JSON object with exactly
// "action" (subscribe|unsubscribe) and "concertId". Every failure is a *ProtocolError
// saying what is wrong.
func ParseCommand(body string) (Command, error) {
	if len(body) > MaxClientMessageBytes {
		return Command{}, protocolErrorf("message is larger than %d bytes", MaxClientMessageBytes)
	}
	if strings.TrimSpace(body) == "" {
		return Command{}, protocolErrorf("message is empty: send {\"action\":\"subscribe\",\"concertId\":\"<id>\"}")
	}
	var raw struct {
		Action    *string `json:"action"`
		ConcertID *string `json:"concertId"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Command{}, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Command{}, protocolErrorf("message must be a single JSON object")
	}
	if strings.TrimSpace(body) == "null" { // decodes as an object with no fields
		return Command{}, protocolErrorf("message must be a JSON object")
	}
	if raw.Action == nil {
		return Command{}, protocolErrorf("action is required: subscribe or unsubscribe")
	}
	switch *raw.Action {
	case ActionSubscribe, ActionUnsubscribe:
	default:
		return Command{}, protocolErrorf("unknown action %q: use subscribe or unsubscribe", truncate(*raw.Action, 64))
	}
	if raw.ConcertID == nil {
		return Command{}, protocolErrorf("concertId is required")
	}
	id, err := ParseConcertID(*raw.ConcertID)
	if err != nil {
		return Command{}, err
	}
	return Command{action: *raw.Action, concertID: id}, nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return protocolErrorf("message is not valid JSON")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return protocolErrorf("message must be a JSON object")
		}
		return protocolErrorf("%s must be a %s", typeErr.Field, "string")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return protocolErrorf("unknown field %s", truncate(strings.TrimPrefix(err.Error(), "json: unknown field "), 80))
	default:
		return protocolErrorf("message is not valid JSON")
	}
}

// truncate keeps client-controlled text in replies and logs short, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

type subscriptionMessage struct {
	Type      string `json:"type"`
	ConcertID string `json:"concertId"`
}

type errorMessage struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// SubscribedMessage is the reply to a subscribe.
func SubscribedMessage(t ConcertID) []byte {
	return mustMarshal(subscriptionMessage{MessageTypeSubscribed, t.id})
}

// UnsubscribedMessage is the reply to an unsubscribe.
func UnsubscribedMessage(t ConcertID) []byte {
	return mustMarshal(subscriptionMessage{MessageTypeUnsubscribed, t.id})
}

// ErrorMessage tells the client its message was not understood.
func ErrorMessage(message string) []byte { return mustMarshal(errorMessage{MessageTypeError, message}) }

// mustMarshal is only used on structs of strings, numbers and bools, which always
// marshal, so the error cannot happen.
func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

type concertViewUpdatedMessage struct {
	Type      string          `json:"type"`
	ConcertID string          `json:"concertId"`
	Version   int64           `json:"version"`
	View      json.RawMessage `json:"view,omitempty"`
	// ViewOmitted is true when the view would push the message past API Gateway's
	// limit; the client then fetches GET /concerts/{id} itself.
	ViewOmitted bool `json:"viewOmitted,omitempty"`
	// TraceID is the trace of the change that caused this message (the command's
	// trace, carried through the log, the bus and the read model), so a client's
	// report can be looked up; absent when the change was not traced.
	TraceID string `json:"traceId,omitempty"`
}

// ConcertViewUpdatedMessage is the push after a read-model change. When the message with
// the view would exceed MaxMessageBytes it is sent without the view and with
// "viewOmitted":true, so a client never gets a broken message and knows to re-read.
// omitted reports which form was built.
func ConcertViewUpdatedMessage(u ConcertViewUpdated) (msg []byte, omitted bool, err error) {
	full, err := json.Marshal(concertViewUpdatedMessage{Type: MessageTypeConcertViewUpdated, ConcertID: u.ConcertID, Version: u.Version, View: u.View, TraceID: u.TraceID})
	if err != nil {
		return nil, false, fmt.Errorf("encode concert.updated %s v%d: %w", u.ConcertID, u.Version, err)
	}
	if len(full) <= MaxMessageBytes {
		return full, false, nil
	}
	small := mustMarshal(concertViewUpdatedMessage{Type: MessageTypeConcertViewUpdated, ConcertID: u.ConcertID, Version: u.Version, ViewOmitted: true, TraceID: u.TraceID})
	return small, true, nil
}
