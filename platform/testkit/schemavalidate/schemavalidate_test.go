package schemavalidate_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/testkit/schemavalidate"
)

func load(t *testing.T) (*schemavalidate.Registry, string) {
	t.Helper()
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	r, err := schemavalidate.Load(dir)
	require.NoError(t, err)
	return r, dir
}

// examples reads the examples embedded in each schema: they are the catalogs'
// examples, written there by schemagen.
func examples(t *testing.T, dir string, k schemavalidate.Key) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, k.Source, fmt.Sprintf("%s.v%d.json", k.EventType, k.Version)))
	require.NoError(t, err)
	var s struct {
		Examples []map[string]any `json:"examples"`
	}
	require.NoError(t, json.Unmarshal(b, &s))
	require.NotEmpty(t, s.Examples, "%s has no examples", k)
	return s.Examples
}

func TestEveryExampleValidates(t *testing.T) {
	r, dir := load(t)
	require.NotEmpty(t, r.Keys())
	for _, k := range r.Keys() {
		t.Run(k.String(), func(t *testing.T) {
			for i, ex := range examples(t, dir, k) {
				b, err := json.Marshal(ex)
				require.NoError(t, err)
				require.NoError(t, r.Validate(k.Source, k.EventType, k.Version, b), "example %d", i)
			}
		})
	}
}

func TestBrokenDetailsRejected(t *testing.T) {
	r, dir := load(t)
	meta := func(d map[string]any) map[string]any { return d["metadata"].(map[string]any) }
	data := func(d map[string]any) map[string]any { return d["data"].(map[string]any) }
	// firstDataField is deterministic so a failure reproduces.
	firstDataField := func(d map[string]any) string {
		keys := make([]string, 0, len(data(d)))
		for k := range data(d) {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys[0]
	}
	tests := []struct {
		name   string
		mutate func(d map[string]any)
	}{
		{"missing metadata", func(d map[string]any) { delete(d, "metadata") }},
		{"missing data", func(d map[string]any) { delete(d, "data") }},
		{"missing eventId", func(d map[string]any) { delete(meta(d), "eventId") }},
		{"missing occurredAt", func(d map[string]any) { delete(meta(d), "occurredAt") }},
		{"extra top-level field", func(d map[string]any) { d["source"] = "concerts" }},
		{"extra metadata field", func(d map[string]any) { meta(d)["tenant"] = "x" }},
		{"extra data field", func(d map[string]any) { data(d)["unexpected"] = 1 }},
		{"version as string", func(d map[string]any) { meta(d)["aggregateVersion"] = "4" }},
		{"version zero", func(d map[string]any) { meta(d)["aggregateVersion"] = 0 }},
		{"fractional version", func(d map[string]any) { meta(d)["aggregateVersion"] = 1.5 }},
		{"occurredAt not a date-time", func(d map[string]any) { meta(d)["occurredAt"] = "yesterday" }},
		{"other event type", func(d map[string]any) { meta(d)["eventType"] = "SomethingElse" }},
		{"other schema version", func(d map[string]any) { meta(d)["schemaVersion"] = 99 }},
		{"data field wrong type", func(d map[string]any) {
			data(d)[firstDataField(d)] = []any{true}
		}},
		{"data field null", func(d map[string]any) {
			data(d)[firstDataField(d)] = nil
		}},
		{"data not an object", func(d map[string]any) { d["data"] = "text" }},
	}
	for _, k := range r.Keys() {
		for _, tc := range tests {
			t.Run(k.String()+"/"+tc.name, func(t *testing.T) {
				d := examples(t, dir, k)[0]
				tc.mutate(d)
				b, err := json.Marshal(d)
				require.NoError(t, err)
				err = r.Validate(k.Source, k.EventType, k.Version, b)
				require.ErrorIs(t, err, schemavalidate.ErrInvalid, "got %v, want ErrInvalid", err)
			})
		}
	}
	t.Run("missing required data field", func(t *testing.T) {
		d := examples(t, dir, schemavalidate.Key{Source: "concerts", EventType: "TicketsSold", Version: 1})[0]
		delete(data(d), "quantity")
		b, err := json.Marshal(d)
		require.NoError(t, err)
		require.ErrorIs(t, r.Validate("concerts", "TicketsSold", 1, b), schemavalidate.ErrInvalid)
	})
	t.Run("not JSON", func(t *testing.T) {
		require.ErrorIs(t, r.Validate("concerts", "TicketsSold", 1, []byte(`{"metadata":`)), schemavalidate.ErrInvalid)
	})
}

func TestLoadRepoFindsEveryCatalogSchema(t *testing.T) {
	r, err := schemavalidate.LoadRepo()
	require.NoError(t, err)
	var got []string
	for _, k := range r.Keys() {
		got = append(got, k.String())
	}
	require.Subset(t, got, []string{
		"concerts/ConcertScheduled.v1", "concerts/ConcertUpdated.v1", "concerts/ConcertRescheduled.v1",
		"concerts/TicketsSold.v1", "concerts/ConcertSoldOut.v1", "concerts/ConcertCancelled.v1",
		"projections/ConcertViewUpdated.v1",
	})
}

func TestUnknownSchema(t *testing.T) {
	r, _ := load(t)
	tests := []schemavalidate.Key{
		{Source: "concerts", EventType: "TicketsSold", Version: 2},
		{Source: "projections", EventType: "TicketsSold", Version: 1},
		{Source: "concerts", EventType: "Nope", Version: 1},
	}
	for _, k := range tests {
		t.Run(k.String(), func(t *testing.T) {
			err := r.Validate(k.Source, k.EventType, k.Version, []byte(`{}`))
			require.ErrorIs(t, err, schemavalidate.ErrUnknownSchema, "got %v, want ErrUnknownSchema", err)
		})
	}
}

func TestLoadFailsClearly(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"empty directory", nil},
		{"only top-level files (lock, AsyncAPI)", map[string]string{"released.lock.json": `{}`, "asyncapi.json": `{}`}},
		{"badly named file", map[string]string{"concerts/TicketsSold.json": `{}`}},
		{"not JSON", map[string]string{"concerts/TicketsSold.v1.json": `{`}},
		{"not a schema", map[string]string{"concerts/TicketsSold.v1.json": `{"type":"nonsense"}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, c := range tc.files {
				require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644))
			}
			_, err := schemavalidate.Load(dir)
			require.Error(t, err)
		})
	}
}

func TestFindSchemasDirFailsOutsideRepository(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.Chdir(wd) })
	require.NoError(t, os.Chdir(t.TempDir()))
	_, err = schemavalidate.FindSchemasDir()
	require.Error(t, err, "got a schemas dir outside any repository")
}
