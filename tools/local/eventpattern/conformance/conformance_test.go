package conformance_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/eventpattern/conformance"
)

func writeVectors(t testing.TB, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	files := map[string]string{
		"cases.jsonl": `{"name":"a","source":"s","pattern":{"a":["x"]},"event":{"a":"x"},"match":true,"operators":["exact"]}` + "\n" +
			`{"name":"dup","source":"s","pattern":null,"pattern_text":"{\"a\":[\"x\"],\"a\":[\"y\"]}","event":{"a":"y"},"match":true,"operators":["duplicate-key"]}` + "\n",
		"invalid.jsonl":  `{"name":"i","source":"s","pattern_text":"{\"a\":1}","reason":"r","operators":["structure"]}` + "\n",
		"observed.jsonl": `{"name":"o","source":"s","pattern_text":"{\"a\":[null]}","event_text":"{}","match":false}` + "\n",
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
}

func TestDirFromEnv(t *testing.T) {
	dir := t.TempDir()
	writeVectors(t, dir)
	t.Setenv(conformance.EnvDir, dir)
	got, err := conformance.Dir()
	require.NoError(t, err)
	require.Equal(t, dir, got, "got %s, want %s", got, dir)
}

func TestDirWalksUp(t *testing.T) {
	root := t.TempDir()
	writeVectors(t, filepath.Join(root, "shared", "conformance", "eventbridge-patterns"))
	work := filepath.Join(root, "main", "platform", "eventpattern")
	require.NoError(t, os.MkdirAll(work, 0o755))
	t.Setenv(conformance.EnvDir, "")
	t.Chdir(work)
	got, err := conformance.Dir()
	require.NoError(t, err)
	want := filepath.Join(root, "shared", "conformance", "eventbridge-patterns")
	gotReal, _ := filepath.EvalSymlinks(got)
	wantReal, _ := filepath.EvalSymlinks(want)
	require.Equal(t, wantReal, gotReal, "got %s, want %s", got, want)
}

func TestDirMissing(t *testing.T) {
	t.Setenv(conformance.EnvDir, filepath.Join(t.TempDir(), "nothing-here"))
	_, err := conformance.Dir()
	require.ErrorIs(t, err, conformance.ErrNotFound)
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeVectors(t, dir)
	cases, err := conformance.LoadCases(dir)
	require.NoError(t, err)
	require.Len(t, cases, 2)
	require.JSONEq(t, `{"a":["x"]}`, string(cases[0].PatternJSON()))
	require.Equal(t, `{"a":["x"],"a":["y"]}`, string(cases[1].PatternJSON()), "pattern_text must be used verbatim")
	invalid, err := conformance.LoadInvalid(dir)
	require.NoError(t, err)
	require.Len(t, invalid, 1)
	observed, err := conformance.LoadObserved(dir)
	require.NoError(t, err)
	require.Len(t, observed, 1)
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		body *string
	}{
		{"missing file", nil},
		{"malformed line", ptr("{\"name\":\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.body != nil {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "cases.jsonl"), []byte(*tc.body), 0o644))
			}
			got, err := conformance.LoadCases(dir)
			require.Error(t, err, "got %d cases, want an error", len(got))
		})
	}
}

func ptr(s string) *string { return &s }

func Example() {
	dir, err := os.MkdirTemp("", "vectors")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	line := `{"name":"exact","source":"doc","pattern":{"source":["concerts"]},"event":{"source":"concerts"},"match":true,"operators":["exact"]}`
	if err := os.WriteFile(filepath.Join(dir, "cases.jsonl"), []byte(line+"\n"), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	cases, err := conformance.LoadCases(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cases {
		fmt.Printf("%s: pattern %s, event %s, match %v\n", c.Name, c.PatternJSON(), c.Event, c.Match)
	}
	// Output:
	// exact: pattern {"source":["concerts"]}, event {"source":"concerts"}, match true
}
