package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/testkit/schemavalidate"
)

func TestOutputIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	require.NoError(t, run(a))
	require.NoError(t, run(b))
	require.NoError(t, run(b)) // regenerating in place changes nothing
	files, err := Generate(catalogs())
	require.NoError(t, err)
	for p := range files {
		x, err := os.ReadFile(filepath.Join(a, p))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, p))
		require.NoError(t, err)
		require.Equal(t, string(x), string(y), "%s differs between runs", p)
		require.Equal(t, byte('\n'), x[len(x)-1], "%s: want a trailing newline", p)
	}
}

func TestStaleSchemasAreRemoved(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "concerts", "Removed.v1.json")
	foreign := filepath.Join(dir, "README.md")
	require.NoError(t, os.MkdirAll(filepath.Dir(stale), 0o755))
	require.NoError(t, os.WriteFile(stale, []byte("{}\n"), 0o644))
	require.NoError(t, os.WriteFile(foreign, []byte("keep\n"), 0o644))
	require.NoError(t, run(dir))
	_, err := os.Stat(stale)
	require.ErrorIs(t, err, os.ErrNotExist, "got stale schema kept, want it removed")
	_, err = os.Stat(foreign)
	require.NoError(t, err, "a file schemagen does not own was removed")
}

// TestCatalogExamplesValidate validates the catalogs' Go example values, encoded as
// producers encode them, against freshly generated schemas.
func TestCatalogExamplesValidate(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, run(dir))
	reg, err := schemavalidate.Load(dir)
	require.NoError(t, err)
	for _, typ := range catalogs() {
		t.Run(typ.SchemaPath(), func(t *testing.T) {
			require.NotEmpty(t, typ.Examples)
			for i, ex := range typ.Examples {
				b, err := json.Marshal(ex)
				require.NoError(t, err)
				require.NoError(t, reg.Validate(typ.Source, typ.Name, typ.Version, b), "example %d", i)
			}
		})
	}
}

func TestSchemaShape(t *testing.T) {
	files, err := Generate(catalogs())
	require.NoError(t, err)
	type prop struct {
		Type   string `json:"type"`
		Format string `json:"format"`
	}
	type object struct {
		Required             []string        `json:"required"`
		AdditionalProperties *bool           `json:"additionalProperties"`
		Properties           map[string]prop `json:"properties"`
	}
	type schema struct {
		Schema     string   `json:"$schema"`
		ID         string   `json:"$id"`
		Title      string   `json:"title"`
		Required   []string `json:"required"`
		Examples   []any    `json:"examples"`
		Properties struct {
			Metadata object `json:"metadata"`
			Data     object `json:"data"`
		} `json:"properties"`
	}
	tests := []struct {
		path         string
		title        string
		dataRequired []string
		dateTimes    []string
	}{
		{"concerts/ConcertScheduled.v1.json", "ConcertScheduled", []string{"artist", "venue", "startsAt", "capacity", "priceCents"}, []string{"startsAt"}},
		{"concerts/ConcertUpdated.v1.json", "ConcertUpdated", nil, nil},
		{"concerts/ConcertRescheduled.v1.json", "ConcertRescheduled", []string{"startsAt", "previousStartsAt"}, []string{"startsAt", "previousStartsAt"}},
		{"concerts/TicketsSold.v1.json", "TicketsSold", []string{"quantity", "ticketsSold", "ticketsAvailable"}, nil},
		{"concerts/ConcertSoldOut.v1.json", "ConcertSoldOut", []string{"capacity"}, nil},
		{"concerts/ConcertCancelled.v1.json", "ConcertCancelled", []string{"reason"}, nil},
		{"projections/ConcertViewUpdated.v1.json", "ConcertViewUpdated",
			[]string{"id", "artist", "venue", "startsAt", "capacity", "priceCents", "ticketsSold", "ticketsAvailable", "status", "version", "updatedAt"},
			[]string{"startsAt", "updatedAt"}},
	}
	require.Len(t, files, len(tests), "got %d schemas, want %d", len(files), len(tests))
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			b, ok := files[tc.path]
			require.True(t, ok, "no schema generated at %s", tc.path)
			var s schema
			require.NoError(t, json.Unmarshal(b, &s))
			require.Equal(t, "https://json-schema.org/draft/2020-12/schema", s.Schema)
			require.Equal(t, BaseID+tc.path, s.ID)
			require.Equal(t, tc.title, s.Title)
			require.ElementsMatch(t, []string{"metadata", "data"}, s.Required)
			require.NotEmpty(t, s.Examples)
			require.ElementsMatch(t, []string{"eventId", "aggregateId", "aggregateVersion", "eventType", "schemaVersion",
				"occurredAt", "correlationId", "causationId"}, s.Properties.Metadata.Required)
			require.Equal(t, "date-time", s.Properties.Metadata.Properties["occurredAt"].Format)
			require.ElementsMatch(t, tc.dataRequired, s.Properties.Data.Required)
			for _, o := range []object{s.Properties.Metadata, s.Properties.Data} {
				require.NotNil(t, o.AdditionalProperties)
				require.False(t, *o.AdditionalProperties, "got additionalProperties allowed")
			}
			for _, f := range tc.dateTimes {
				require.Equal(t, "date-time", s.Properties.Data.Properties[f].Format, "data.%s", f)
			}
		})
	}
}
