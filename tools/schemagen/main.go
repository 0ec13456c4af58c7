// Command schemagen writes one JSON Schema (draft 2020-12) per published event type
// and schema version into a schemas directory, from the services' event catalogs.
// Each schema describes the whole EventBridge detail, {"metadata":…,"data":…}.
// Output is deterministic (sorted keys, two-space indent, trailing newline), so
// `make schemas-check` can compare a fresh generation with the committed files.
//
//	go run ./tools/schemagen -out schemas
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/eventcatalog"
	"github.com/concertsys/services/concerts/concertevents"
	"github.com/concertsys/services/projections/viewevents"
)

// BaseID prefixes every schema's $id; the rest is the schema's path under schemas/.
const BaseID = "https://schemas.concertsys.dev/"

func main() {
	out := flag.String("out", "schemas", "directory to write the schemas and the AsyncAPI document into")
	check := flag.String("check", "", "instead of generating: check the schemas in this directory against its lock of released schemas and the consumers' contracts")
	release := flag.String("release", "", "instead of generating: record the schemas in this directory as released (refuses incompatible changes)")
	var retire multiFlag
	flag.Var(&retire, "retire", "with -release: drop this released schema (path under the dir, e.g. concerts/X.v1.json) that is no longer generated; repeatable")
	flag.Parse()
	var err error
	switch {
	case *check != "":
		err = checkDir(*check)
	case *release != "":
		err = Release(*release, retire)
	default:
		err = run(*out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// checkDir is the compatibility gate: released schemas against the current ones,
// then every consumer's declared reads against the current schemas.
func checkDir(dir string) error {
	vs, err := Check(dir)
	if err != nil {
		return err
	}
	cur, err := loadSchemas(dir)
	if err != nil {
		return err
	}
	broken := CheckConsumers(cur, consumers())
	if len(vs) == 0 && len(broken) == 0 {
		if fresh, err := Unreleased(dir); err == nil && len(fresh) > 0 {
			fmt.Printf("not released yet (make release-schemas when they ship): %s\n", strings.Join(fresh, ", "))
		}
		return nil
	}
	var b strings.Builder
	if len(vs) > 0 {
		fmt.Fprintf(&b, "compatibility gate: %d incompatible change(s) against %s/%s:\n%s\n", len(vs), dir, LockFile, formatViolations(vs))
	}
	if len(broken) > 0 {
		fmt.Fprintf(&b, "consumer contracts: %d broken:\n  %s\n", len(broken), strings.Join(broken, "\n  "))
	}
	return errors.New(strings.TrimSuffix(b.String(), "\n"))
}

// catalogs is every service's published event catalog.
func catalogs() []eventcatalog.Type {
	return append(concertevents.Catalog(), viewevents.Catalog()...)
}

func run(out string) error {
	types := catalogs()
	files, err := Generate(types)
	if err != nil {
		return err
	}
	doc, err := AsyncAPI(types, files, services())
	if err != nil {
		return fmt.Errorf("asyncapi: %w", err)
	}
	files[AsyncAPIFile] = doc
	return write(out, files)
}

// Generate returns the schema file contents keyed by path under the schemas dir.
func Generate(types []eventcatalog.Type) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, t := range types {
		if t.Source == "" || t.Name == "" || t.Version < 1 || t.Data == nil {
			return nil, fmt.Errorf("catalog entry %+v: source, name, version >= 1 and data are required", t)
		}
		path := t.SchemaPath()
		if _, dup := files[path]; dup {
			return nil, fmt.Errorf("%s: listed twice", path)
		}
		b, err := schemaFor(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		files[path] = b
	}
	return files, nil
}

func schemaFor(t eventcatalog.Type) ([]byte, error) {
	r := &jsonschema.Reflector{
		DoNotReference:             true,  // one self-contained document per event
		AllowAdditionalProperties:  false, // unknown fields are a contract break
		RequiredFromJSONSchemaTags: false, // required = no omitempty in the json tag
	}
	// Reflect the detail with this event's data type in it.
	detail := reflect.StructOf([]reflect.StructField{
		{Name: "Metadata", Type: reflect.TypeFor[envelope.Metadata](), Tag: `json:"metadata"`},
		{Name: "Data", Type: reflect.TypeOf(t.Data), Tag: `json:"data"`},
	})
	raw, err := json.Marshal(r.ReflectFromType(detail))
	if err != nil {
		return nil, err
	}
	var s map[string]any
	if err := decode(raw, &s); err != nil {
		return nil, err
	}
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = BaseID + t.SchemaPath()
	s["title"] = t.Name
	s["description"] = fmt.Sprintf("EventBridge detail of %s version %d, published with source %q and detail-type %q.",
		t.Name, t.Version, t.Source, t.Name)

	// Pin what identifies the event inside its metadata, so that a detail of one type
	// never validates against another type's schema.
	meta, err := object(s, "metadata")
	if err != nil {
		return nil, err
	}
	props, _ := meta["properties"].(map[string]any)
	for name, extra := range map[string]map[string]any{
		"eventType":        {"const": t.Name},
		"schemaVersion":    {"const": t.Version},
		"aggregateVersion": {"minimum": 1},
		"eventId":          {"minLength": 1},
		"aggregateId":      {"minLength": 1},
	} {
		p, ok := props[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("metadata has no property %s", name)
		}
		for k, v := range extra {
			p[k] = v
		}
	}

	examples := make([]any, 0, len(t.Examples))
	for i, ex := range t.Examples {
		b, err := json.Marshal(ex)
		if err != nil {
			return nil, fmt.Errorf("example %d: %w", i, err)
		}
		var v any
		if err := decode(b, &v); err != nil {
			return nil, fmt.Errorf("example %d: %w", i, err)
		}
		examples = append(examples, v)
	}
	if len(examples) == 0 {
		return nil, errors.New("no examples: every catalog entry needs at least one")
	}
	s["examples"] = examples

	return encode(s) // maps encode with sorted keys; encode ends with "\n"
}

// decode keeps numbers as json.Number so they are written back exactly.
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func object(s map[string]any, prop string) (map[string]any, error) {
	props, _ := s["properties"].(map[string]any)
	o, ok := props[prop].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema has no object property %s", prop)
	}
	return o, nil
}

// write puts files under out and removes schema files of event types that no
// longer exist in the source directories it wrote, so a removed event's schema
// does not linger.
func write(out string, files map[string][]byte) error {
	paths := make([]string, 0, len(files))
	sources := map[string]bool{}
	for p := range files {
		paths = append(paths, p)
		if src, _, ok := strings.Cut(p, "/"); ok {
			sources[src] = true
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(out, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return err
		}
	}
	for src := range sources {
		dir := filepath.Join(out, src)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
				return err
			}
			rel, err := filepath.Rel(out, path)
			if err != nil {
				return err
			}
			if _, ok := files[filepath.ToSlash(rel)]; !ok {
				return os.Remove(path)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
