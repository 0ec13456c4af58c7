package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The event walkers flatten an event into the leaf values at paths the pattern uses,
// each with the array elements it lies in. Subtrees no pattern path reaches are skipped,
// which is what keeps Match cheap on large events.

// walkJSON walks raw JSON without building a tree, validating it on the way (a second
// pass with json.Valid would cost as much as the walk itself).
func (s *scratch) walkJSON(p *Pattern, data []byte) error {
	sc := jscan{data: data}
	sc.ws()
	if sc.i >= len(data) || data[sc.i] != '{' {
		if err := sc.skip(0); err != nil {
			return fmt.Errorf("%w: %w", ErrNotObject, err)
		}
		return ErrNotObject
	}
	if err := s.walkObject(p, &sc, true, 0); err != nil {
		return fmt.Errorf("%w: %w", ErrNotObject, err)
	}
	sc.ws()
	if sc.i != len(data) {
		return fmt.Errorf("%w: unexpected data after the object at offset %d", ErrNotObject, sc.i)
	}
	return nil
}

// maxEventDepth bounds nesting in events, as encoding/json does.
const maxEventDepth = 10000

var errDepth = errors.New("exceeded max depth")

type jscan struct {
	data []byte
	i    int
}

func (sc *jscan) syntax(what string) error {
	if sc.i >= len(sc.data) {
		return fmt.Errorf("unexpected end of JSON input, expected %s", what)
	}
	return fmt.Errorf("invalid character %q at offset %d, expected %s", sc.data[sc.i], sc.i, what)
}

func (sc *jscan) ws() {
	for sc.i < len(sc.data) {
		switch sc.data[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// expect consumes c (after whitespace).
func (sc *jscan) expect(c byte) error {
	sc.ws()
	if sc.i < len(sc.data) && sc.data[sc.i] == c {
		sc.i++
		return nil
	}
	return sc.syntax(strconv.QuoteRune(rune(c)))
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// str scans a string starting at its opening quote and returns its raw contents;
// simple means plain ASCII without escapes.
func (sc *jscan) str() (raw []byte, simple bool, err error) {
	if sc.i >= len(sc.data) || sc.data[sc.i] != '"' {
		return nil, false, sc.syntax("string")
	}
	start := sc.i + 1
	simple = true
	i := start
	for i < len(sc.data) {
		c := sc.data[i]
		switch {
		case c == '"':
			sc.i = i + 1
			return sc.data[start:i], simple, nil
		case c == '\\':
			simple = false
			if i+1 >= len(sc.data) {
				sc.i = len(sc.data)
				return nil, false, sc.syntax("escape")
			}
			switch sc.data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(sc.data) || !isHex(sc.data[i+2]) || !isHex(sc.data[i+3]) || !isHex(sc.data[i+4]) || !isHex(sc.data[i+5]) {
					sc.i = i
					return nil, false, sc.syntax("4 hex digits after \\u")
				}
				i += 6
			default:
				sc.i = i + 1
				return nil, false, sc.syntax("escape character")
			}
		case c < 0x20:
			sc.i = i
			return nil, false, sc.syntax("string character")
		default:
			if c >= utf8.RuneSelf {
				simple = false
			}
			i++
		}
	}
	sc.i = len(sc.data)
	return nil, false, sc.syntax("closing quote")
}

// number scans a JSON number.
func (sc *jscan) number() ([]byte, error) {
	d := sc.data
	start := sc.i
	i := sc.i
	if i < len(d) && d[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if !digits() {
		sc.i = i
		return nil, sc.syntax("digit")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			sc.i = i
			return nil, sc.syntax("digit after decimal point")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			sc.i = i
			return nil, sc.syntax("digit in exponent")
		}
	}
	sc.i = i
	return d[start:i], nil
}

func (sc *jscan) literal(word string) error {
	if len(sc.data)-sc.i >= len(word) && string(sc.data[sc.i:sc.i+len(word)]) == word {
		sc.i += len(word)
		return nil
	}
	return sc.syntax(word)
}

// open passes over the '{' or '[' at sc.i that starts a container at depth; empty
// says the container closed at once (its closing bracket passed over too).
func (sc *jscan) open(depth int, closing byte) (empty bool, err error) {
	if depth >= maxEventDepth {
		return false, errDepth
	}
	sc.i++
	sc.ws()
	if sc.i < len(sc.data) && sc.data[sc.i] == closing {
		sc.i++
		return true, nil
	}
	return false, nil
}

// next passes over what follows a container's element: a ',' (more elements) or
// else the required closing bracket.
func (sc *jscan) next(closing byte) (more bool, err error) {
	sc.ws()
	if sc.i < len(sc.data) && sc.data[sc.i] == ',' {
		sc.i++
		return true, nil
	}
	return false, sc.expect(closing)
}

// skip validates and passes over one value.
func (sc *jscan) skip(depth int) error {
	sc.ws()
	if sc.i >= len(sc.data) {
		return sc.syntax("value")
	}
	switch c := sc.data[sc.i]; {
	case c == '"':
		_, _, err := sc.str()
		return err
	case c == '{':
		if empty, err := sc.open(depth, '}'); empty || err != nil {
			return err
		}
		for {
			sc.ws()
			if _, _, err := sc.str(); err != nil {
				return err
			}
			if err := sc.expect(':'); err != nil {
				return err
			}
			if err := sc.skip(depth + 1); err != nil {
				return err
			}
			if more, err := sc.next('}'); !more {
				return err
			}
		}
	case c == '[':
		if empty, err := sc.open(depth, ']'); empty || err != nil {
			return err
		}
		for {
			if err := sc.skip(depth + 1); err != nil {
				return err
			}
			if more, err := sc.next(']'); !more {
				return err
			}
		}
	case c == 't':
		return sc.literal("true")
	case c == 'f':
		return sc.literal("false")
	case c == 'n':
		return sc.literal("null")
	default:
		_, err := sc.number()
		return err
	}
}

// decodeString turns raw string contents into a Go string the way encoding/json does
// (escapes resolved, invalid UTF-8 replaced).
func decodeString(raw []byte, simple bool) string {
	if simple || utf8.Valid(raw) && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(quoted, '"')
	quoted = append(quoted, raw...)
	quoted = append(quoted, '"')
	var out string
	if err := json.Unmarshal(quoted, &out); err != nil {
		return string(raw) // unreachable: str validated the escapes
	}
	return out
}

// walkObject walks an object whose '{' is at sc.i.
func (s *scratch) walkObject(p *Pattern, sc *jscan, atRoot bool, depth int) error {
	if empty, err := sc.open(depth, '}'); empty || err != nil {
		return err
	}
	for {
		sc.ws()
		raw, simple, err := sc.str()
		if err != nil {
			return err
		}
		if err := sc.expect(':'); err != nil {
			return err
		}
		sc.ws()
		mark := len(s.path)
		if !atRoot {
			s.path = append(s.path, '.')
		}
		keyStart := len(s.path)
		if simple {
			s.path = append(s.path, raw...)
		} else {
			s.path = append(s.path, decodeString(raw, false)...)
		}
		if at, ok := p.prefixes[string(s.path)]; ok && p.keyUsed(string(s.path[keyStart:])) {
			err = s.walkJSONValue(p, sc, p.info[at], depth+1)
		} else {
			err = sc.skip(depth + 1)
		}
		s.path = s.path[:mark]
		if err != nil {
			return err
		}
		if more, err := sc.next('}'); !more {
			return err
		}
	}
}

func (s *scratch) walkJSONValue(p *Pattern, sc *jscan, info pathInfo, depth int) error {
	if sc.i >= len(sc.data) {
		return sc.syntax("value")
	}
	c := sc.data[sc.i]
	switch {
	case c == '{':
		if info.parent {
			return s.walkObject(p, sc, false, depth)
		}
		return sc.skip(depth)
	case c == '[':
		return s.walkJSONArray(p, sc, info, depth)
	case info.leaf < 0:
		return sc.skip(depth)
	case c == '"':
		raw, simple, err := sc.str()
		if err != nil {
			return err
		}
		s.addField(info.leaf, vString, decodeString(raw, simple))
	case c == 't':
		if err := sc.literal("true"); err != nil {
			return err
		}
		s.addField(info.leaf, vTrue, "true")
	case c == 'f':
		if err := sc.literal("false"); err != nil {
			return err
		}
		s.addField(info.leaf, vFalse, "false")
	case c == 'n':
		if err := sc.literal("null"); err != nil {
			return err
		}
		s.addField(info.leaf, vNull, "null")
	default:
		num, err := sc.number()
		if err != nil {
			return err
		}
		s.addField(info.leaf, vNumber, string(num))
	}
	return nil
}

func (s *scratch) walkJSONArray(p *Pattern, sc *jscan, info pathInfo, depth int) error {
	empty, err := sc.open(depth, ']')
	if err != nil {
		return err
	}
	id := s.arrays
	s.arrays++
	if empty {
		return nil
	}
	for index := int32(0); ; index++ {
		sc.ws()
		if sc.i >= len(sc.data) {
			return sc.syntax("value")
		}
		// Like event-ruler, only objects and arrays inside an array record which element
		// they are in; scalars in an array are alternatives of the field itself.
		var err error
		if c := sc.data[sc.i]; c == '{' || c == '[' {
			s.stack = append(s.stack, memPair{array: id, index: index})
			err = s.walkJSONValue(p, sc, info, depth+1)
			s.stack = s.stack[:len(s.stack)-1]
		} else {
			err = s.walkJSONValue(p, sc, info, depth+1)
		}
		if err != nil {
			return err
		}
		if more, err := sc.next(']'); !more {
			return err
		}
	}
}

// walkValue walks an event decoded by encoding/json.
func (s *scratch) walkValue(p *Pattern, event map[string]any) {
	s.walkMap(p, event, true)
}

func (s *scratch) walkMap(p *Pattern, m map[string]any, atRoot bool) {
	for k, v := range m {
		mark := len(s.path)
		if !atRoot {
			s.path = append(s.path, '.')
		}
		s.path = append(s.path, k...)
		if at, ok := p.prefixes[string(s.path)]; ok && p.keyUsed(k) {
			s.walkAny(p, p.info[at], v)
		}
		s.path = s.path[:mark]
	}
}

func (s *scratch) walkAny(p *Pattern, info pathInfo, v any) {
	switch t := v.(type) {
	case map[string]any:
		if info.parent {
			s.walkMap(p, t, false)
		}
		return
	case []any:
		id := s.arrays
		s.arrays++
		for i, e := range t {
			switch e.(type) {
			case map[string]any, []any:
				s.stack = append(s.stack, memPair{array: id, index: int32(i)})
				s.walkAny(p, info, e)
				s.stack = s.stack[:len(s.stack)-1]
			default:
				s.walkAny(p, info, e)
			}
		}
		return
	}
	if info.leaf < 0 {
		return
	}
	switch t := v.(type) {
	case string:
		s.addField(info.leaf, vString, t)
	case json.Number:
		s.addField(info.leaf, vNumber, string(t))
	case float64:
		s.addField(info.leaf, vNumber, strconv.FormatFloat(t, 'g', -1, 64))
	case float32:
		s.addField(info.leaf, vNumber, strconv.FormatFloat(float64(t), 'g', -1, 32))
	case int:
		s.addField(info.leaf, vNumber, strconv.Itoa(t))
	case int64:
		s.addField(info.leaf, vNumber, strconv.FormatInt(t, 10))
	case int32:
		s.addField(info.leaf, vNumber, strconv.FormatInt(int64(t), 10))
	case uint64:
		s.addField(info.leaf, vNumber, strconv.FormatUint(t, 10))
	case bool:
		if t {
			s.addField(info.leaf, vTrue, "true")
		} else {
			s.addField(info.leaf, vFalse, "false")
		}
	case nil:
		s.addField(info.leaf, vNull, "null")
	}
}
