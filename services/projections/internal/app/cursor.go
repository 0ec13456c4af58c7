package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// maxCursorChars bounds what is even looked at; issued cursors are far shorter.
const maxCursorChars = 2048

// errBadCursor is the one answer to any cursor this API did not issue for this query;
// which check failed is not revealed.
var errBadCursor = errors.New("cursor is not one this API issued for this query")

// CursorCodec issues and checks opaque, tamper-evident list cursors: the position
// and the status filter, HMAC-SHA256 signed, so a cursor cannot be forged or reused
// with another filter.
type CursorCodec struct {
	key []byte
}

// NewCursorCodec needs a secret key of at least 16 bytes.
func NewCursorCodec(key []byte) (*CursorCodec, error) {
	if len(key) < 16 {
		return nil, errors.New("cursor key must be at least 16 bytes")
	}
	return &CursorCodec{key: append([]byte(nil), key...)}, nil
}

type cursorPayload struct {
	Status   string `json:"s"`
	Position string `json:"p"`
}

// Encode issues the cursor for the page after position under the status filter.
func (c *CursorCodec) Encode(status, position string) string {
	payload, _ := json.Marshal(cursorPayload{Status: status, Position: position}) // strings always marshal
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(c.sign(payload))
}

// Decode checks a cursor and returns its position; it must have been issued for the
// same status filter.
func (c *CursorCodec) Decode(cursor, status string) (string, error) {
	if len(cursor) > maxCursorChars {
		return "", errBadCursor
	}
	p64, s64, ok := strings.Cut(cursor, ".")
	if !ok {
		return "", errBadCursor
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.DecodeString(s64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, c.sign(payload)) {
		return "", errBadCursor
	}
	var p cursorPayload
	if err := json.Unmarshal(payload, &p); err != nil || p.Status != status || !ValidPosition(p.Position) {
		return "", errBadCursor
	}
	return p.Position, nil
}

func (c *CursorCodec) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("concerts-list-cursor/v1\x00"))
	m.Write(payload)
	return m.Sum(nil)[:16]
}
