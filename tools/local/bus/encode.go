package bus

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// errMalformedDetail is a detail that is not exactly one JSON object.
var errMalformedDetail = errors.New("detail is not one JSON object")

// encodeEvent renders ev as json.Marshal does, byte for byte (a test holds it to
// that), in one pass over the detail that also validates it: Put used to validate the
// detail (json.Valid) and then have json.Marshal validate and compact it again, through
// reflection. It returns the event and where its detail starts. ev.Detail is the
// entry's, not yet checked; an error means it is not one JSON object.
func encodeEvent(ev *events.EventBridgeEvent) ([]byte, int, error) {
	if y := ev.Time.Year(); y < 0 || y > 9999 { // json.Marshal's range; it says why
		raw, err := json.Marshal(ev)
		if err != nil {
			return nil, 0, err
		}
		return raw, bytes.Index(raw, detailKey) + len(detailKey), nil
	}
	n := 160 + len(ev.ID) + len(ev.DetailType) + len(ev.Source) + len(ev.AccountID) + len(ev.Region) + len(ev.Detail)
	for _, r := range ev.Resources {
		n += len(r) + 3
	}
	buf := make([]byte, 0, n)
	buf = append(buf, `{"version":`...)
	buf = appendJSONString(buf, ev.Version)
	buf = append(buf, `,"id":`...)
	buf = appendJSONString(buf, ev.ID)
	buf = append(buf, `,"detail-type":`...)
	buf = appendJSONString(buf, ev.DetailType)
	buf = append(buf, `,"source":`...)
	buf = appendJSONString(buf, ev.Source)
	buf = append(buf, `,"account":`...)
	buf = appendJSONString(buf, ev.AccountID)
	buf = append(buf, `,"time":"`...)
	buf = ev.Time.AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","region":`...)
	buf = appendJSONString(buf, ev.Region)
	buf = append(buf, `,"resources":`...)
	if ev.Resources == nil {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, '[')
		for i, r := range ev.Resources {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, r)
		}
		buf = append(buf, ']')
	}
	buf = append(buf, `,"detail":`...)
	start := len(buf)
	out := bytes.NewBuffer(buf)
	if err := json.Compact(out, ev.Detail); err != nil {
		return nil, 0, errors.Join(errMalformedDetail, err)
	}
	buf = out.Bytes()
	if len(buf) == start || buf[start] != '{' {
		return nil, 0, errMalformedDetail
	}
	// json.Marshal escapes <, >, & and U+2028/U+2029 in a RawMessage, as in strings.
	if needsHTMLEscape(buf[start:]) {
		var esc bytes.Buffer
		json.HTMLEscape(&esc, buf[start:])
		buf = append(buf[:start], esc.Bytes()...)
	}
	return append(buf, '}'), start, nil
}

// appendJSONString appends s quoted as json.Marshal quotes it: directly when it has
// nothing to escape (the usual source, type, account, region and ARNs), through
// json.Marshal otherwise.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(buf, q...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// formatUUID is a UUID's canonical text.
func formatUUID(u [16]byte) [36]byte {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:16])
	return s
}

// needsHTMLEscape reports whether json.HTMLEscape would change b: a <, > or &, or
// the first byte of U+2028/U+2029 (HTMLEscape checks the rest).
func needsHTMLEscape(b []byte) bool {
	for _, c := range b {
		if c == '<' || c == '>' || c == '&' || c == 0xE2 {
			return true
		}
	}
	return false
}
