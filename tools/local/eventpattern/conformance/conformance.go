// Package conformance loads the EventBridge event-pattern test vectors kept outside the
// repository (shared/conformance/eventbridge-patterns: cases transcribed from
// aws/event-ruler, timbray/quamina and the EventBridge documentation), so every matcher
// that claims EventBridge semantics — the Go matcher, devstack's TestEventPattern API —
// can run the same cases.
package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvDir names an environment variable that overrides where the vectors are looked for.
const EnvDir = "EVENTPATTERN_CONFORMANCE_DIR"

// relDir is the vectors' directory relative to a directory that contains "shared".
var relDir = filepath.Join("shared", "conformance", "eventbridge-patterns")

// ErrNotFound reports that the vectors are not on this machine.
var ErrNotFound = errors.New("eventbridge-patterns conformance vectors not found")

// Case is one pattern/event pair and whether event-ruler matches them.
type Case struct {
	Name      string   `json:"name"`
	Source    string   `json:"source"`
	Operators []string `json:"operators"`
	Note      string   `json:"note,omitempty"`
	// Pattern is the pattern as JSON; null when the source pattern has duplicate keys.
	Pattern json.RawMessage `json:"pattern"`
	// PatternText, when set, is the pattern exactly as written (duplicate keys kept).
	PatternText string          `json:"pattern_text,omitempty"`
	Event       json.RawMessage `json:"event"`
	Match       bool            `json:"match"`
}

// PatternJSON is the text to compile: PatternText verbatim when present.
func (c Case) PatternJSON() []byte {
	if c.PatternText != "" {
		return []byte(c.PatternText)
	}
	return c.Pattern
}

// Invalid is a pattern event-ruler rejects.
type Invalid struct {
	Name          string   `json:"name"`
	Source        string   `json:"source"`
	PatternText   string   `json:"pattern_text"`
	Reason        string   `json:"reason"`
	Operators     []string `json:"operators"`
	MalformedJSON bool     `json:"malformed_json,omitempty"`
}

// Observed is an edge case no test or document asserts; Match is what event-ruler
// returned locally. Advisory only.
type Observed struct {
	Name        string `json:"name"`
	Source      string `json:"source"`
	PatternText string `json:"pattern_text"`
	EventText   string `json:"event_text"`
	Match       bool   `json:"match"`
}

// Dir finds the vectors: $EVENTPATTERN_CONFORMANCE_DIR if set, else the first
// shared/conformance/eventbridge-patterns found walking up from the working directory.
// It returns an error wrapping ErrNotFound when there is none.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		if _, err := os.Stat(filepath.Join(d, "cases.jsonl")); err != nil {
			return "", fmt.Errorf("%w: %s=%s: %w", ErrNotFound, EnvDir, d, err)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find conformance vectors: %w", err)
	}
	for dir := wd; ; {
		candidate := filepath.Join(dir, relDir)
		if _, err := os.Stat(filepath.Join(candidate, "cases.jsonl")); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no %s above %s (set %s)", ErrNotFound, relDir, wd, EnvDir)
		}
		dir = parent
	}
}

// LoadCases reads dir/cases.jsonl.
func LoadCases(dir string) ([]Case, error) {
	return loadJSONL[Case](filepath.Join(dir, "cases.jsonl"))
}

// LoadInvalid reads dir/invalid.jsonl.
func LoadInvalid(dir string) ([]Invalid, error) {
	return loadJSONL[Invalid](filepath.Join(dir, "invalid.jsonl"))
}

// LoadObserved reads dir/observed.jsonl.
func LoadObserved(dir string) ([]Observed, error) {
	return loadJSONL[Observed](filepath.Join(dir, "observed.jsonl"))
}

func loadJSONL[T any](path string) ([]T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(text, &v); err != nil {
			return nil, fmt.Errorf("load %s line %d: %w", path, line, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return out, nil
}
