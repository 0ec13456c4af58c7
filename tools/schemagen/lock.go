package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LockFile is the lock of released schemas, under the schemas dir. It maps every
// released schema path to the schema as released (without its examples, which may
// change freely). `make release-schemas` rewrites it; nothing else does.
const LockFile = "released.lock.json"

type lock struct {
	Comment string                    `json:"$comment"`
	Schemas map[string]map[string]any `json:"schemas"`
}

const lockComment = "Released event schemas: make test compares schemas/ with these (tools/schemagen -check). " +
	"Written by make release-schemas; never edit by hand."

// loadSchemas reads every <source>/<Name>.v<N>.json under dir.
func loadSchemas(dir string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !strings.Contains(rel, "/") || !strings.HasSuffix(rel, ".json") {
			return nil // the lock and the AsyncAPI document live at the top
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var s map[string]any
		if err := decode(b, &s); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		delete(s, "examples")
		out[rel] = s
		return nil
	})
	return out, err
}

func readLock(dir string) (lock, error) {
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	if errors.Is(err, os.ErrNotExist) {
		return lock{Schemas: map[string]map[string]any{}}, nil
	}
	if err != nil {
		return lock{}, err
	}
	var l lock
	if err := decode(b, &l); err != nil {
		return lock{}, fmt.Errorf("%s: %w", LockFile, err)
	}
	if l.Schemas == nil {
		l.Schemas = map[string]map[string]any{}
	}
	return l, nil
}

// Check compares the schemas in dir with the lock of released schemas in dir and
// returns the incompatible changes.
func Check(dir string) ([]Violation, error) {
	if _, err := os.Stat(filepath.Join(dir, LockFile)); err != nil {
		return nil, fmt.Errorf("no lock of released schemas (%w): run make release-schemas once to create it", err)
	}
	l, cur, err := lockAndCurrent(dir)
	if err != nil {
		return nil, err
	}
	return Compare(l.Schemas, cur), nil
}

// lockAndCurrent reads dir's lock (empty when there is none yet) and its current schemas.
func lockAndCurrent(dir string) (lock, map[string]map[string]any, error) {
	l, err := readLock(dir)
	if err != nil {
		return lock{}, nil, err
	}
	cur, err := loadSchemas(dir)
	return l, cur, err
}

// Release records the schemas in dir as released. It refuses incompatible changes,
// except retiring the released versions named in retire (paths under dir) that are
// no longer generated.
func Release(dir string, retire []string) error {
	l, cur, err := lockAndCurrent(dir)
	if err != nil {
		return err
	}
	vs := Compare(l.Schemas, cur)
	retired := map[string]bool{}
	for _, r := range retire {
		retired[r] = true
	}
	var blocking []string
	for _, v := range vs {
		if v.Rule == RuleSchemaRemoved && retired[v.Schema] {
			continue
		}
		blocking = append(blocking, v.String())
	}
	if len(blocking) > 0 {
		return fmt.Errorf("not released, %d incompatible change(s):\n%s", len(blocking), strings.Join(blocking, "\n"))
	}
	b, err := encode(lock{Comment: lockComment, Schemas: cur})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, LockFile), b, 0o644)
}

// encode is the deterministic JSON form every generated file uses.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func jsonTextOr(v any, def string) string {
	if v == nil {
		return def
	}
	return jsonText(v)
}

// Unreleased lists the schemas in dir that the lock does not have yet.
func Unreleased(dir string) ([]string, error) {
	l, cur, err := lockAndCurrent(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for p := range cur {
		if _, ok := l.Schemas[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// formatViolations is the gate's report.
func formatViolations(vs []Violation) string {
	lines := make([]string, len(vs))
	for i, v := range vs {
		lines[i] = "  " + v.String()
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
