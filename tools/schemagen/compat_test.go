package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventcatalog"
)

// released is a small released schema the rule cases change one thing of.
const released = `{
  "type": "object",
  "additionalProperties": false,
  "required": ["metadata", "data"],
  "properties": {
    "metadata": {"type": "object", "properties": {"eventType": {"type": "string", "const": "TicketsSold"}}},
    "data": {
      "type": "object",
      "additionalProperties": false,
      "required": ["quantity", "status"],
      "properties": {
        "quantity": {"type": "integer", "minimum": 1, "maximum": 100},
        "status": {"type": "string", "enum": ["scheduled", "soldout"]},
        "venue": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[A-Z]"},
        "startsAt": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "extra": {"type": "object"}
      }
    }
  }
}`

func parse(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, decode([]byte(s), &m))
	return m
}

// edit returns the released schema with f applied to data's node.
func edit(t *testing.T, f func(data map[string]any)) map[string]any {
	s := parse(t, released)
	f(s["properties"].(map[string]any)["data"].(map[string]any))
	return s
}

func prop(data map[string]any, name string) map[string]any {
	return data["properties"].(map[string]any)[name].(map[string]any)
}

func TestCompareRules(t *testing.T) {
	const path = "concerts/TicketsSold.v1.json"
	tests := []struct {
		name     string
		change   func(data map[string]any)
		rule     string // "" means compatible
		property string
	}{
		{"unchanged", func(map[string]any) {}, "", ""},
		{"new optional property", func(d map[string]any) {
			d["properties"].(map[string]any)["note"] = map[string]any{"type": "string"}
		}, "", ""},
		{"minimum lowered", func(d map[string]any) { prop(d, "quantity")["minimum"] = json.Number("0") }, "", ""},
		{"maximum raised", func(d map[string]any) { prop(d, "quantity")["maximum"] = json.Number("1000") }, "", ""},
		{"maximum dropped", func(d map[string]any) { delete(prop(d, "quantity"), "maximum") }, "", ""},
		{"enum widened", func(d map[string]any) {
			prop(d, "status")["enum"] = []any{"scheduled", "soldout", "cancelled"}
		}, "", ""},
		{"pattern dropped", func(d map[string]any) { delete(prop(d, "venue"), "pattern") }, "", ""},
		{"integer widened to number", func(d map[string]any) { prop(d, "quantity")["type"] = "number" }, "", ""},
		{"examples and descriptions change", func(d map[string]any) { prop(d, "venue")["description"] = "where" }, "", ""},

		{"property removed", func(d map[string]any) { delete(d["properties"].(map[string]any), "venue") },
			RulePropertyRemoved, "data.venue"},
		{"property renamed", func(d map[string]any) {
			ps := d["properties"].(map[string]any)
			ps["place"] = ps["venue"]
			delete(ps, "venue")
		}, RulePropertyRemoved, "data.venue"},
		{"type changed", func(d map[string]any) { prop(d, "quantity")["type"] = "string" }, RuleTypeChanged, "data.quantity"},
		{"made required", func(d map[string]any) { d["required"] = []any{"quantity", "status", "venue"} },
			RuleMadeRequired, "data.venue"},
		{"new required property", func(d map[string]any) {
			d["properties"].(map[string]any)["note"] = map[string]any{"type": "string"}
			d["required"] = []any{"quantity", "status", "note"}
		}, RuleNewRequired, "data.note"},
		{"made optional", func(d map[string]any) { d["required"] = []any{"status"} }, RuleMadeOptional, "data.quantity"},
		{"enum shrunk", func(d map[string]any) { prop(d, "status")["enum"] = []any{"scheduled"} }, RuleEnumNarrowed, "data.status"},
		{"enum added", func(d map[string]any) { prop(d, "venue")["enum"] = []any{"Paradiso"} }, RuleEnumNarrowed, "data.venue"},
		{"const added", func(d map[string]any) { prop(d, "venue")["const"] = "Paradiso" }, RuleConstChanged, "data.venue"},
		{"minimum raised", func(d map[string]any) { prop(d, "quantity")["minimum"] = json.Number("2") }, RuleMinimumRaised, "data.quantity"},
		{"minLength added", func(d map[string]any) { prop(d, "status")["minLength"] = json.Number("1") }, RuleMinimumRaised, "data.status"},
		{"maximum lowered", func(d map[string]any) { prop(d, "quantity")["maximum"] = json.Number("99") }, RuleMaximumLowered, "data.quantity"},
		{"maxLength lowered", func(d map[string]any) { prop(d, "venue")["maxLength"] = json.Number("100") }, RuleMaximumLowered, "data.venue"},
		{"maxItems lowered", func(d map[string]any) { prop(d, "tags")["maxItems"] = json.Number("4") }, RuleMaximumLowered, "data.tags"},
		{"pattern changed", func(d map[string]any) { prop(d, "venue")["pattern"] = "^[A-Za-z]" }, RulePatternChanged, "data.venue"},
		{"format changed", func(d map[string]any) { prop(d, "startsAt")["format"] = "date" }, RuleFormatChanged, "data.startsAt"},
		{"additionalProperties true to false", func(d map[string]any) { prop(d, "extra")["additionalProperties"] = false },
			RuleAdditionalNarrowed, "data.extra"},
		{"item type changed", func(d map[string]any) { prop(d, "tags")["items"] = map[string]any{"type": "integer"} },
			RuleTypeChanged, "data.tags[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Compare(map[string]map[string]any{path: parse(t, released)}, map[string]map[string]any{path: edit(t, tc.change)})
			if tc.rule == "" {
				require.Empty(t, got, "got violations %v, want none", got)
				return
			}
			require.Len(t, got, 1, "got %v, want one %s violation", got, tc.rule)
			v := got[0]
			require.Equal(t, tc.rule, v.Rule, "got rule %s, want %s", v.Rule, tc.rule)
			require.Equal(t, tc.property, v.Property, "got property %s, want %s", v.Property, tc.property)
			msg := v.String()
			for _, want := range []string{"TicketsSold", tc.property, tc.rule, "TicketsSoldV2", "Version: 2"} {
				require.Contains(t, msg, want, "got message %q, want it to name %q", msg, want)
			}
		})
	}
}

func TestCompareReportsRemovedSchemaAndIgnoresNewOnes(t *testing.T) {
	s := parse(t, released)
	got := Compare(map[string]map[string]any{"concerts/Gone.v1.json": s}, map[string]map[string]any{"concerts/New.v1.json": s})
	require.Len(t, got, 1, "got %v", got)
	require.Equal(t, RuleSchemaRemoved, got[0].Rule)
	require.Equal(t, "concerts/Gone.v1.json", got[0].Schema)
}

// withData returns the catalog with the data type of the named event replaced.
func withData(name string, data func(reflect.Type) reflect.Type) []eventcatalog.Type {
	types := catalogs()
	for i, t := range types {
		if t.Name == name {
			types[i].Data = reflect.New(data(reflect.TypeOf(t.Data))).Elem().Interface()
		}
	}
	return types
}

// scratch is a copy of the repo's schemas/ (with its lock) regenerated from types.
func scratch(t *testing.T, types []eventcatalog.Type) string {
	t.Helper()
	dir := t.TempDir()
	lock, err := os.ReadFile(filepath.Join("..", "..", "schemas", LockFile))
	require.NoError(t, err, "the repo's lock of released schemas")
	require.NoError(t, os.WriteFile(filepath.Join(dir, LockFile), lock, 0o644))
	files, err := Generate(types)
	require.NoError(t, err)
	require.NoError(t, write(dir, files))
	return dir
}

// The done-when, on a scratch copy: removing a property from an event's Go
// type fails the gate; adding an optional one passes.
func TestGateOnGoTypeChanges(t *testing.T) {
	vs, err := Check(scratch(t, catalogs()))
	require.NoError(t, err)
	require.Empty(t, vs, "got %v: the committed schemas must match their lock", vs)

	removed := withData("TicketsSold", func(typ reflect.Type) reflect.Type {
		var fields []reflect.StructField
		for i := range typ.NumField() {
			if f := typ.Field(i); f.Name != "TicketsAvailable" {
				fields = append(fields, f)
			}
		}
		return reflect.StructOf(fields)
	})
	vs, err = Check(scratch(t, removed))
	require.NoError(t, err)
	require.Len(t, vs, 1, "got %v, want one violation", vs)
	msg := vs[0].String()
	for _, want := range []string{"concerts/TicketsSold.v1.json", "data.ticketsAvailable", RulePropertyRemoved, "TicketsSoldV2"} {
		require.Contains(t, msg, want, "got %q", msg)
	}

	added := withData("TicketsSold", func(typ reflect.Type) reflect.Type {
		var fields []reflect.StructField
		for i := range typ.NumField() {
			fields = append(fields, typ.Field(i))
		}
		fields = append(fields, reflect.StructField{Name: "ScratchOptionalNote", Type: reflect.TypeFor[string](), Tag: `json:"scratchOptionalNote,omitempty"`})
		return reflect.StructOf(fields)
	})
	vs, err = Check(scratch(t, added))
	require.NoError(t, err)
	require.Empty(t, vs, "got %v, want an optional property to pass", vs)
}

func TestReleaseRefusesIncompatibleAndRecordsCompatible(t *testing.T) {
	dir := t.TempDir()
	files, err := Generate(catalogs())
	require.NoError(t, err)
	require.NoError(t, write(dir, files))
	require.NoError(t, Release(dir, nil))
	vs, err := Check(dir)
	require.NoError(t, err)
	require.Empty(t, vs)

	schema := filepath.Join(dir, "concerts", "TicketsSold.v1.json")
	b, err := os.ReadFile(schema)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(schema, []byte(strings.Replace(string(b), `"maximum": 100,`, `"maximum": 50,`, 1)), 0o644))
	err = Release(dir, nil)
	require.ErrorContains(t, err, RuleMaximumLowered)

	require.NoError(t, os.Remove(schema))
	require.ErrorContains(t, Release(dir, nil), RuleSchemaRemoved)
	require.NoError(t, Release(dir, []string{"concerts/TicketsSold.v1.json"}), "a retired version is dropped from the lock")
	l, err := readLock(dir)
	require.NoError(t, err)
	require.NotContains(t, l.Schemas, "concerts/TicketsSold.v1.json")
}

func TestCheckWithoutLockFails(t *testing.T) {
	dir := t.TempDir()
	files, err := Generate(catalogs())
	require.NoError(t, err)
	require.NoError(t, write(dir, files))
	_, err = Check(dir)
	require.ErrorContains(t, err, "make release-schemas", "got no error without a lock, want the gate to refuse")
	fresh, err := Unreleased(dir)
	require.NoError(t, err)
	require.Len(t, fresh, len(files))
}

func TestConsumerContracts(t *testing.T) {
	files, err := Generate(catalogs())
	require.NoError(t, err)
	schemas := map[string]map[string]any{}
	for p, b := range files {
		var s map[string]any
		require.NoError(t, decode(b, &s))
		schemas[p] = s
	}
	require.Empty(t, CheckConsumers(schemas, consumers()), "the real consumers' reads hold")

	delete(schemas["projections/ConcertViewUpdated.v1.json"]["properties"].(map[string]any)["data"].(map[string]any)["properties"].(map[string]any), "status")
	delete(schemas, "concerts/ConcertCancelled.v1.json")
	got := CheckConsumers(schemas, consumers())
	require.Len(t, got, 2, "got %v", got)
	require.Contains(t, got[0], "consumer notifications reads property data.status of projections/ConcertViewUpdated.v1.json")
	require.Contains(t, got[1], "consumer projections reads concerts/ConcertCancelled.v1.json")
}

// Every subscription of every consumer declares what it reads of each event type it
// receives, so a new subscription cannot skip the contract.
func TestEverySubscribedTypeHasDeclaredReads(t *testing.T) {
	reads := map[string]map[string][]string{}
	for _, c := range consumers() {
		reads[c.Service] = c.Reads
	}
	for _, s := range services() {
		for _, c := range s.Consumers {
			for _, typ := range catalogs() {
				ok, err := matches(c.Subscription.Pattern, typ.Source, typ.Name)
				require.NoError(t, err)
				if ok {
					require.NotEmpty(t, reads[s.Name][typ.SchemaPath()], "service %s subscribes to %s but its Reads() says nothing about it", s.Name, typ.SchemaPath())
				}
			}
		}
	}
}
