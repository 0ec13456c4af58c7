package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is JSON kept as written: member order, duplicate keys and number text survive
// a parse and print, which the matchers under test are sensitive to.
type node struct {
	kind    nodeKind
	text    string // string value, or literal text of a number, true, false, null
	keys    []string
	members []*node // object values, parallel to keys; array items
}

type nodeKind uint8

const (
	kObject nodeKind = iota
	kArray
	kString
	kLiteral // number, true, false, null: text is the JSON text
)

func obj() *node { return &node{kind: kObject} }
func arr(items ...*node) *node {
	return &node{kind: kArray, members: items}
}
func str(s string) *node    { return &node{kind: kString, text: s} }
func lit(text string) *node { return &node{kind: kLiteral, text: text} }
func (n *node) set(k string, v *node) *node {
	n.keys = append(n.keys, k)
	n.members = append(n.members, v)
	return n
}

// get returns the last value of key k, as matchers that keep the last duplicate do.
func (n *node) get(k string) *node {
	for i := len(n.keys) - 1; i >= 0; i-- {
		if n.keys[i] == k {
			return n.members[i]
		}
	}
	return nil
}

func (n *node) clone() *node {
	c := &node{kind: n.kind, text: n.text, keys: append([]string(nil), n.keys...)}
	for _, m := range n.members {
		c.members = append(c.members, m.clone())
	}
	return c
}

func (n *node) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return `""` // unreachable for a Go string
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (n *node) write(b *strings.Builder) {
	switch n.kind {
	case kObject:
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quote(k))
			b.WriteByte(':')
			n.members[i].write(b)
		}
		b.WriteByte('}')
	case kArray:
		b.WriteByte('[')
		for i, m := range n.members {
			if i > 0 {
				b.WriteByte(',')
			}
			m.write(b)
		}
		b.WriteByte(']')
	case kString:
		b.WriteString(quote(n.text))
	default:
		b.WriteString(n.text)
	}
}

// parse reads JSON text into a node, keeping order, duplicates and number text.
func parse(text string) (*node, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	n, err := parseNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after JSON value")
	}
	return n, nil
}

func parseNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := obj()
		if t == '[' {
			n = arr()
		}
		for dec.More() {
			key := ""
			if t == '{' {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ = kt.(string)
			}
			v, err := parseNode(dec)
			if err != nil {
				return nil, err
			}
			if t == '{' {
				n.set(key, v)
			} else {
				n.members = append(n.members, v)
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return n, nil
	case string:
		return str(t), nil
	case json.Number:
		return lit(string(t)), nil
	case bool:
		return lit(fmt.Sprint(t)), nil
	case nil:
		return lit("null"), nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}
