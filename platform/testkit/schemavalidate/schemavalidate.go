// Package schemavalidate checks event details against the generated JSON Schemas in
// schemas/, so producers' tests prove every event they publish matches its contract.
package schemavalidate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	// ErrUnknownSchema: no schema for the source, detail-type and version.
	ErrUnknownSchema = errors.New("no schema for event")
	// ErrInvalid: the detail does not satisfy its schema.
	ErrInvalid = errors.New("detail does not match its schema")
)

// Key names one schema: the EventBridge source and detail-type and the schema version.
type Key struct {
	Source    string
	EventType string
	Version   int
}

func (k Key) String() string {
	return fmt.Sprintf("%s/%s.v%d", k.Source, k.EventType, k.Version)
}

// Registry holds every compiled schema of a schemas directory.
type Registry struct {
	schemas map[Key]*jsonschema.Schema
}

// Load compiles every <source>/<EventType>.v<N>.json under dir (files directly in dir
// are not event schemas and are skipped). Formats such as
// date-time are asserted, not just annotated.
func Load(dir string) (*Registry, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	locs := map[Key]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if !strings.Contains(filepath.ToSlash(rel), "/") {
			return nil // not an event schema: the lock of released schemas, the AsyncAPI document
		}
		key, err := keyOf(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		loc := "file:///" + filepath.ToSlash(rel)
		if obj, ok := doc.(map[string]any); ok {
			if id, ok := obj["$id"].(string); ok && id != "" {
				loc = id
			}
		}
		if err := c.AddResource(loc, doc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		locs[key] = loc
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load schemas from %s: %w", dir, err)
	}
	if len(locs) == 0 {
		return nil, fmt.Errorf("load schemas from %s: no schema files found", dir)
	}
	r := &Registry{schemas: map[Key]*jsonschema.Schema{}}
	for key, loc := range locs {
		s, err := c.Compile(loc)
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", key, err)
		}
		r.schemas[key] = s
	}
	return r, nil
}

// LoadRepo loads the repository's committed schemas: FindSchemasDir, then Load.
func LoadRepo() (*Registry, error) {
	dir, err := FindSchemasDir()
	if err != nil {
		return nil, err
	}
	return Load(dir)
}

// keyOf parses "concerts/TicketsSold.v1.json".
func keyOf(rel string) (Key, error) {
	source, file, ok := strings.Cut(rel, "/")
	if !ok || strings.Contains(file, "/") {
		return Key{}, fmt.Errorf("%s: want <source>/<EventType>.v<N>.json", rel)
	}
	name, ver, ok := strings.Cut(strings.TrimSuffix(file, ".json"), ".v")
	n, err := strconv.Atoi(ver)
	if !ok || err != nil || n < 1 || name == "" {
		return Key{}, fmt.Errorf("%s: want <source>/<EventType>.v<N>.json", rel)
	}
	return Key{Source: source, EventType: name, Version: n}, nil
}

// Keys lists the loaded schemas in order.
func (r *Registry) Keys() []Key {
	out := make([]Key, 0, len(r.schemas))
	for k := range r.schemas {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Validate checks an EventBridge detail against the schema of its source,
// detail-type and schema version. It fails with ErrUnknownSchema or ErrInvalid (the
// message says which fields are wrong).
func (r *Registry) Validate(source, detailType string, schemaVersion int, detail []byte) error {
	key := Key{Source: source, EventType: detailType, Version: schemaVersion}
	s, ok := r.schemas[key]
	if !ok {
		return fmt.Errorf("%s: %w", key, ErrUnknownSchema)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(detail))
	if err != nil {
		return fmt.Errorf("%s: detail is not JSON: %w: %w", key, ErrInvalid, err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("%s: %w: %w", key, ErrInvalid, err)
	}
	return nil
}

// SchemasDirEnv overrides FindSchemasDir's search when set.
const SchemasDirEnv = "CONCERTSYS_SCHEMAS_DIR"

// FindSchemasDir walks up from the working directory to the repository root (the
// nearest directory holding go.work) and returns its schemas/ directory, so tests in
// any module find the committed schemas. $CONCERTSYS_SCHEMAS_DIR overrides the search.
func FindSchemasDir() (string, error) {
	if dir := os.Getenv(SchemasDirEnv); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("$%s=%s is not a directory", SchemasDirEnv, dir)
		}
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			dir := filepath.Join(d, "schemas")
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return "", fmt.Errorf("repository root %s has no schemas/ directory: run `make schemas`", d)
			}
			return dir, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no repository root (go.work) above %s: set $%s to the schemas directory", wd, SchemasDirEnv)
		}
	}
}

// Provides says whether the dotted property path (e.g. "data.quantity") names a
// property of schema (a decoded JSON Schema), following nested "properties": what a
// consumer contract checks of each property it reads.
func Provides(schema map[string]any, path string) bool {
	node := schema
	for _, name := range strings.Split(path, ".") {
		props, _ := node["properties"].(map[string]any)
		next, ok := props[name].(map[string]any)
		if !ok {
			return false
		}
		node = next
	}
	return true
}
