package app

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"math"
)

// busEventKeys are what the fold reads of an EventBridge event before deciding
// whether to decode it: which service and type it is, whose concert, which version,
// and where its detail is. Strings are raw JSON string contents (escapes left in).
type busEventKeys struct {
	source, detailType []byte
	detail             []byte // the detail's JSON value
	detailAt           int    // where detail starts in the event
	detailTypeAt       int    // where detailType starts in the event
	aggregateID        []byte
	version            int64
	escaped            bool   // aggregateID holds a backslash escape
	id                 string // set by the caller once it needs the id as a string
}

var (
	errBadBusEvent = errors.New("not an EventBridge event of the expected shape")
	errScanned     = errors.New("found every key") // ends a scan early
)

// scanBusEvent finds busEventKeys in one EventBridge event (as the archive holds and a
// replay delivers it) without decoding the rest: no allocation, one pass over the
// bytes. With whole false it stops once it has source, detail-type, aggregateId and
// aggregateVersion (detail is then unset: EventBridge writes the detail last and its
// metadata first, so this reads about a third of the event). Anything it cannot read
// is errBadBusEvent.
func scanBusEvent(raw []byte, k *busEventKeys, whole bool) error {
	*k = busEventKeys{version: -1}
	s := scanner{b: raw}
	done := func() error {
		if !whole && k.source != nil && k.detailType != nil && k.aggregateID != nil && k.version >= 0 {
			return errScanned
		}
		return nil
	}
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "source":
			v, _, err := s.str()
			k.source = v
			return cmp.Or(err, done())
		case "detail-type":
			v, _, err := s.str()
			k.detailType, k.detailTypeAt = v, s.i-1-len(v)
			return cmp.Or(err, done())
		case "detail":
			start := s.skipSpace()
			err := s.object(func(key []byte) error {
				if string(key) != "metadata" {
					return s.skip()
				}
				return s.object(func(key []byte) error {
					switch string(key) {
					case "aggregateId":
						v, esc, err := s.str()
						k.aggregateID, k.escaped = v, esc
						return cmp.Or(err, done())
					case "aggregateVersion":
						n, err := s.int()
						k.version = n
						return cmp.Or(err, done())
					}
					return s.skip()
				})
			})
			k.detail, k.detailAt = raw[start:s.i], start
			return err
		}
		return s.skip()
	})
	switch {
	case errors.Is(err, errScanned):
		return nil
	case err != nil:
		return err
	case k.source == nil || k.detailType == nil || k.detail == nil || k.aggregateID == nil || k.version < 0:
		return errBadBusEvent
	}
	return nil
}

// aggregateIDString is the concert id, unescaped when it holds an escape.
func (k *busEventKeys) aggregateIDString() (string, error) {
	if !k.escaped {
		return string(k.aggregateID), nil
	}
	quoted := make([]byte, 0, len(k.aggregateID)+2)
	quoted = append(append(append(quoted, '"'), k.aggregateID...), '"')
	var id string
	if err := json.Unmarshal(quoted, &id); err != nil {
		return "", errBadBusEvent
	}
	return id, nil
}

// scanner walks JSON that encoding/json would accept; it checks only as much as
// finding the keys above needs (the event is decoded strictly before it is applied).
type scanner struct {
	b []byte
	i int
}

func (s *scanner) skipSpace() int {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return s.i
		}
	}
	return s.i
}

// object calls field for each key, with the scanner at the key's value; field must
// consume the value.
func (s *scanner) object(field func(key []byte) error) error {
	if s.skipSpace() >= len(s.b) || s.b[s.i] != '{' {
		return errBadBusEvent
	}
	s.i++
	if s.skipSpace() < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		key, _, err := s.str()
		if err != nil {
			return err
		}
		if s.skipSpace() >= len(s.b) || s.b[s.i] != ':' {
			return errBadBusEvent
		}
		s.i++
		if err := field(key); err != nil {
			return err
		}
		if s.skipSpace() >= len(s.b) {
			return errBadBusEvent
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errBadBusEvent
		}
	}
}

// str reads a string and returns its raw contents and whether it holds an escape.
func (s *scanner) str() ([]byte, bool, error) {
	if s.skipSpace() >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, errBadBusEvent
	}
	s.i++
	start := s.i
	for {
		// IndexByte is vectorised: strings are most of an event's bytes.
		q := bytes.IndexByte(s.b[s.i:], '"')
		if q < 0 {
			return nil, false, errBadBusEvent
		}
		s.i += q
		backslashes := 0
		for j := s.i - 1; j >= start && s.b[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			v := s.b[start:s.i]
			s.i++
			return v, bytes.IndexByte(v, '\\') >= 0, nil
		}
		s.i++ // an escaped quote
	}
}

// int reads a non-negative integer (a version).
func (s *scanner) int() (int64, error) {
	start := s.skipSpace()
	var n int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		if n > (math.MaxInt64-9)/10 {
			return 0, errBadBusEvent
		}
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	if s.i == start || s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, errBadBusEvent
	}
	return n, nil
}

// skip passes over one value of any kind.
func (s *scanner) skip() error {
	if s.skipSpace() >= len(s.b) {
		return errBadBusEvent
	}
	switch c := s.b[s.i]; c {
	case '"':
		_, _, err := s.str()
		return err
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, _, err := s.str(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return errBadBusEvent
	default:
		// number, true, false, null: up to the next delimiter
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if s.i == start {
					return errBadBusEvent
				}
				return nil
			}
			s.i++
		}
		return errBadBusEvent
	}
}
