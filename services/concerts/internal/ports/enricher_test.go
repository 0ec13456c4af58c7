package ports_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/testkit/schemavalidate"
	"github.com/concertsys/tools/local/pipe"

	"github.com/concertsys/services/concerts/concertevents"
	"github.com/concertsys/services/concerts/internal/ports"
)

func readRecordsB(b *testing.B, path string) []events.DynamoDBEventRecord {
	return readRecords[[]events.DynamoDBEventRecord](b, path)
}

func readRecords[T any](t testing.TB, path string) T {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var out T
	require.NoError(t, json.Unmarshal(raw, &out), "decode %s", path)
	return out
}

// TestEnrichBatch feeds the enricher a batch exactly as an EventBridge Pipe hands it
// over for a DynamoDB stream source, decoded with encoding/json.
func TestEnrichBatch(t *testing.T) {
	records := readRecords[[]events.DynamoDBEventRecord](t, "testdata/stream/batch.json")
	require.Len(t, records, 5)
	want := readRecords[[]json.RawMessage](t, "testdata/stream/batch.details.json")

	got, err := ports.NewEnricher(nil)(t.Context(), records)
	require.NoError(t, err)
	require.Len(t, got, len(want), "MODIFY and REMOVE records are skipped")
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	reg, err := schemavalidate.Load(dir)
	require.NoError(t, err)
	for i := range want {
		require.JSONEq(t, string(want[i]), string(got[i]), "detail %d", i)
		var d struct {
			Metadata struct {
				EventType     string `json:"eventType"`
				SchemaVersion int    `json:"schemaVersion"`
			} `json:"metadata"`
		}
		require.NoError(t, json.Unmarshal(got[i], &d))
		require.NoError(t, reg.Validate(concertevents.Source, d.Metadata.EventType, d.Metadata.SchemaVersion, got[i]))
	}
}

func TestEnrichEmptyBatch(t *testing.T) {
	got, err := ports.Enrich(nil)
	require.NoError(t, err)
	require.NotNil(t, got, "an empty batch enriches to an empty array, not null")
	b, err := json.Marshal(got)
	require.NoError(t, err)
	require.Equal(t, "[]", string(b))
}

func TestEnrichRefusesMalformedImages(t *testing.T) {
	cases := readRecords[map[string]events.DynamoDBEventRecord](t, "testdata/stream/bad-records.json")
	require.NotEmpty(t, cases)
	for name, rec := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := ports.Enrich([]events.DynamoDBEventRecord{rec})
			require.ErrorIs(t, err, ports.ErrBadImage)
			require.Nil(t, out)
		})
	}
}

// TestStreamImageRoundTrip checks the enricher reads what devstack's Pipe emulator
// (pipe.StreamRecord, same attribute names as the DynamoDB log adapter) produces.
func TestStreamImageRoundTrip(t *testing.T) {
	e := eventlog.Event{
		AggregateID: "c-1", Version: 7, EventID: "e-7", EventType: concertevents.ConcertCancelled, SchemaVersion: 1,
		OccurredAt: time.Date(2026, 5, 1, 18, 0, 0, 123_000_000, time.UTC), CorrelationID: "corr", CausationID: "cause",
		Data: json.RawMessage(`{"reason":"flood ☔"}`),
	}
	for _, tt := range []struct {
		name string
		in   eventlog.Event
	}{
		{name: "full", in: e},
		{name: "no optional ids", in: func() eventlog.Event { x := e; x.EventID, x.CorrelationID, x.CausationID = "", "", ""; return x }()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(pipe.StreamRecord("us-east-1", "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x", eventlog.FeedEntry{Position: 1, Event: tt.in}))
			require.NoError(t, err)
			var rec events.DynamoDBEventRecord
			require.NoError(t, json.Unmarshal(raw, &rec))
			got, err := ports.EventFromImage(rec.Change.NewImage)
			require.NoError(t, err)
			require.Equal(t, tt.in, got)
		})
	}
}
