package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jkind is the JSON type of a node of a parsed pattern.
type jkind uint8

const (
	jObject jkind = iota
	jArray
	jString
	jNumber
	jTrue
	jFalse
	jNull
)

func (k jkind) String() string {
	switch k {
	case jObject:
		return "an object"
	case jArray:
		return "an array"
	case jString:
		return "a string"
	case jNumber:
		return "a number"
	case jTrue, jFalse:
		return "a boolean"
	default:
		return "null"
	}
}

// jnode is a pattern's JSON kept in source order with every member, duplicates included:
// event-ruler reads patterns as a token stream, so a repeated key is seen twice (the
// later one wins for the same field path), which map-based decoding would hide.
type jnode struct {
	kind    jkind
	text    string // string value, or number text exactly as written
	members []jmember
	items   []jnode
}

type jmember struct {
	key   string
	value jnode
}

// maxDepth bounds nesting so a hostile pattern cannot exhaust the stack.
const maxDepth = 200

func parseTree(data []byte) (jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := readNode(dec, 0)
	if err != nil {
		return jnode{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return jnode{}, errors.New("unexpected data after the pattern object")
	}
	return n, nil
}

func readNode(dec *json.Decoder, depth int) (jnode, error) {
	if depth > maxDepth {
		return jnode{}, fmt.Errorf("nesting deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return jnode{}, errors.New("unexpected end of JSON")
		}
		return jnode{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := jnode{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jnode{}, err
				}
				key, ok := kt.(string)
				if !ok {
					return jnode{}, errors.New("object key is not a string")
				}
				v, err := readNode(dec, depth+1)
				if err != nil {
					return jnode{}, err
				}
				n.members = append(n.members, jmember{key: key, value: v})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return jnode{}, err
			}
			return n, nil
		case '[':
			n := jnode{kind: jArray}
			for dec.More() {
				v, err := readNode(dec, depth+1)
				if err != nil {
					return jnode{}, err
				}
				n.items = append(n.items, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return jnode{}, err
			}
			return n, nil
		default:
			return jnode{}, fmt.Errorf("unexpected %q", rune(t))
		}
	case string:
		return jnode{kind: jString, text: t}, nil
	case json.Number:
		return jnode{kind: jNumber, text: string(t)}, nil
	case bool:
		if t {
			return jnode{kind: jTrue, text: "true"}, nil
		}
		return jnode{kind: jFalse, text: "false"}, nil
	case nil:
		return jnode{kind: jNull, text: "null"}, nil
	}
	return jnode{}, fmt.Errorf("unexpected token %v", tok)
}
