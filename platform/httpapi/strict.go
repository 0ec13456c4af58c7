package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"
)

// MaxNestingDepth bounds how deep objects and arrays of a request body may nest; the
// request bodies of this system are flat, so anything deeper is an attack or a mistake.
const MaxNestingDepth = 32

// validateStrict is the pre-pass of DecodeJSON that encoding/json (v1) lacks: the body
// must be valid UTF-8 (v1 silently turns bad bytes into U+FFFD), no object may repeat
// a key (v1 keeps the last), and object keys must match a field's JSON name exactly
// (v1 matches case-insensitively, so {"ARTIST":…} would fill "artist"). It walks the
// token stream once with the type of dst alongside, so it also knows which keys a
// struct has. encoding/json/v2 does all of this by default but needs
// GOEXPERIMENT=jsonv2 in Go 1.26; this stays on the stable API.
func validateStrict(body []byte, dst any) error {
	if !utf8.Valid(body) {
		return NewProblem(http.StatusBadRequest, "body is not valid UTF-8")
	}
	if loneSurrogate(body) {
		// "\ud800" alone is no character; v1 would decode it to U+FFFD.
		return NewProblem(http.StatusBadRequest, "body holds a \\u escape of a lone UTF-16 surrogate")
	}
	if !json.Valid(body) {
		return nil // the real decode describes the syntax error
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	t := reflect.TypeOf(dst)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return walkValue(dec, t, "", 0)
}

// walkValue consumes one JSON value from dec. t is the Go type it will decode into
// (nil when unknown, for example inside an interface); path names it in messages.
// Syntax and type errors are left to the real decode, which describes them better.
func walkValue(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return nil // the real decode reports it
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('{'):
		if depth >= MaxNestingDepth {
			return NewProblem(http.StatusBadRequest, fmt.Sprintf("body nests deeper than %d levels", MaxNestingDepth))
		}
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		seen := map[string]bool{}
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return nil
			}
			key, ok := keyTok.(string)
			if !ok {
				return nil
			}
			if seen[key] {
				return NewProblem(http.StatusBadRequest, fmt.Sprintf("duplicate field %q", joinPath(path, key)))
			}
			seen[key] = true
			var elem reflect.Type
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					// Exact names only: encoding/json would match "ARTIST" to "artist".
					return NewProblem(http.StatusBadRequest, fmt.Sprintf("unknown field %q", joinPath(path, key)))
				}
				elem = ft
			} else if t != nil && t.Kind() == reflect.Map {
				elem = t.Elem()
			}
			if err := walkValue(dec, elem, joinPath(path, key), depth+1); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing '}'
	case json.Delim('['):
		if depth >= MaxNestingDepth {
			return NewProblem(http.StatusBadRequest, fmt.Sprintf("body nests deeper than %d levels", MaxNestingDepth))
		}
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, elem, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing ']'
	}
	return nil
}

// loneSurrogate reports a \uXXXX escape of a UTF-16 surrogate that is not half of a
// high-low pair. Backslashes only occur inside strings in valid JSON; anything else
// is a syntax error the decoder reports.
func loneSurrogate(b []byte) bool {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range b[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // skip the escaped character (it may be a backslash)
			continue
		}
		switch {
		case r >= 0xd800 && r <= 0xdbff:
			lo, ok := hex4(i + 6)
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 11
		case r >= 0xdc00 && r <= 0xdfff:
			return true
		default:
			i += 5
		}
	}
	return false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields maps the JSON names of t's exported fields (as encoding/json names
// them, embedded structs flattened) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// CheckText refuses what a single-line text field (an artist, a venue, a reason) must
// not hold: C0/C1 control characters (tabs and newlines included), the bidi
// embedding, override and isolate controls U+202A–U+202E and U+2066–U+2069 (they
// reorder how the text and what follows it is displayed: "Trojan Source") and invalid
// UTF-8 (DecodeJSON already refuses it, and lone surrogate escapes, in bodies). The
// implicit marks U+200E, U+200F and U+061C stay allowed: they cannot reorder text,
// only nudge neutral characters, and mixed-script names need them. The problem names
// the field and the offending code point.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return NewProblem(http.StatusBadRequest, fmt.Sprintf("field %q is not valid UTF-8", field))
	}
	for i, r := range s {
		switch {
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return textProblem(field, "a control character", r, i)
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			return textProblem(field, "a bidi override or isolate character", r, i)
		}
	}
	return nil
}

func textProblem(field, what string, r rune, offset int) error {
	p := NewProblem(http.StatusBadRequest, fmt.Sprintf("field %q must not contain %s (U+%04X at byte %d)", field, what, r, offset))
	p.Type = "urn:concertsys:problem:invalid-text"
	return p
}
