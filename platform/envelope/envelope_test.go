package envelope_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/envelope"
)

const metadataJSON = `{"eventId":"e1","aggregateId":"c1","aggregateVersion":4,"eventType":"TicketsSold","schemaVersion":1,
	"occurredAt":"2026-05-01T18:04:00Z","correlationId":"r1","causationId":"r0","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`

// ReadMetadata gives what decoding the whole detail gives for its metadata,
// wherever the member is, and fails on details without one.
func TestReadMetadata(t *testing.T) {
	tests := []struct {
		name    string
		detail  string
		wantErr bool
	}{
		{"metadata first", `{"metadata":` + metadataJSON + `,"data":{"quantity":2}}`, false},
		{"metadata after data", `{"data":{"nested":{"metadata":{"eventId":"no"}}},"metadata":` + metadataJSON + `}`, false},
		{"whitespace", " {\n \"metadata\" : " + metadataJSON + " } ", false},
		{"no metadata", `{"data":{}}`, true},
		{"not an object", `[1,2]`, true},
		{"metadata not an object", `{"metadata":"x"}`, true},
		{"empty", ``, true},
		{"truncated", `{"data":{"a":`, true},
	}
	// A malformed member fails it, and the other members are still read.
	malformed := []struct{ name, detail string }{
		{"occurredAt not a time", `{"metadata":{"eventId":"e1","occurredAt":"yesterday","traceparent":"tp"}}`},
		{"version not a number", `{"metadata":{"eventId":"e1","aggregateVersion":"4","traceparent":"tp"}}`},
	}
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			got, err := envelope.ReadMetadata([]byte(tt.detail))
			require.Error(t, err, "got metadata %+v, want an error", got)
			require.Equal(t, "e1", got.EventID, "got %+v", got)
			require.Equal(t, "tp", got.Traceparent, "got %+v", got)
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := envelope.ReadMetadata([]byte(tt.detail))
			if tt.wantErr {
				require.Error(t, err, "got metadata %+v, want an error", got)
				return
			}
			require.NoError(t, err)
			var want envelope.Detail
			require.NoError(t, json.Unmarshal([]byte(tt.detail), &want))
			require.Equal(t, want.Metadata, got, "got %+v want %+v", got, want.Metadata)
		})
	}
}

// The metadata of a large detail without decoding its data, against decoding the
// whole detail into a struct that keeps only the metadata.
func BenchmarkReadMetadata(b *testing.B) {
	detail := []byte(`{"metadata":` + metadataJSON + `,"data":{"seats":[` + strings.Repeat(`{"row":"A","n":1,"price":1200},`, 40) + `{}]}}`)
	b.Run("ReadMetadata", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := envelope.ReadMetadata(detail); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var d struct {
				Metadata envelope.Metadata `json:"metadata"`
			}
			if err := json.Unmarshal(detail, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
