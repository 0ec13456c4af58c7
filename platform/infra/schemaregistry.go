package infra

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// draft04 is the $schema of every schema deployed to the EventBridge schema registry
// (type JSONSchemaDraft4).
const draft04 = "http://json-schema.org/draft-04/schema#"

// RegistrySchema is one schema file of schemas/ ready for the registry.
type RegistrySchema struct {
	// Name is "<source>@<file name without .json>", e.g. "concerts@TicketsSold.v1".
	Name    string
	Content string // draft-04 JSON
}

// LoadRegistrySchemas reads dir/<source>/*.json (make schemas' layout) and converts
// each schema to draft-04, sorted by name.
func LoadRegistrySchemas(dir string) ([]RegistrySchema, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list schemas in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no schemas in %s/<source>/*.json", dir)
	}
	var out []RegistrySchema
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read schema: %w", err)
		}
		content, err := Draft04(raw)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", f, err)
		}
		source := filepath.Base(filepath.Dir(f))
		out = append(out, RegistrySchema{
			Name:    source + "@" + strings.TrimSuffix(filepath.Base(f), ".json"),
			Content: string(content),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Draft04 converts a JSON Schema (draft 2020-12, as tools/schemagen writes them) to
// draft-04, which is what the EventBridge schema registry accepts: $id, $schema,
// examples and $comment are dropped (the registry rejects the newer meta-schema),
// const becomes a one-value enum, numeric exclusiveMinimum/exclusiveMaximum become
// the draft-04 boolean form and $defs become definitions.
func Draft04(schema []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber() // keep integers such as 100000000 exact
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	m, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is not a JSON object")
	}
	convertSchema(m)
	m["$schema"] = draft04
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// convertSchema rewrites one schema object in place, then its subschemas.
func convertSchema(s map[string]any) {
	for _, k := range []string{"$id", "$schema", "examples", "$comment"} {
		delete(s, k)
	}
	if v, ok := s["const"]; ok {
		delete(s, "const")
		if _, has := s["enum"]; !has {
			s["enum"] = []any{v}
		}
	}
	for kw, bound := range map[string]string{"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"} {
		if n, ok := s[kw].(json.Number); ok {
			s[bound], s[kw] = n, true
		}
	}
	if defs, ok := s["$defs"]; ok {
		delete(s, "$defs")
		s["definitions"] = defs
	}
	if ref, ok := s["$ref"].(string); ok {
		s["$ref"] = strings.Replace(ref, "#/$defs/", "#/definitions/", 1)
	}
	for _, kw := range []string{"properties", "patternProperties", "definitions"} {
		if m, ok := s[kw].(map[string]any); ok {
			for _, sub := range m {
				convertAny(sub)
			}
		}
	}
	for _, kw := range []string{"items", "additionalProperties", "additionalItems", "not", "allOf", "anyOf", "oneOf", "prefixItems"} {
		convertAny(s[kw])
	}
	if p, ok := s["prefixItems"]; ok { // draft 2020-12 tuple form
		delete(s, "prefixItems")
		if rest, ok := s["items"]; ok {
			s["additionalItems"] = rest
		}
		s["items"] = p
	}
}

func convertAny(v any) {
	switch t := v.(type) {
	case map[string]any:
		convertSchema(t)
	case []any:
		for _, e := range t {
			convertAny(e)
		}
	}
}
