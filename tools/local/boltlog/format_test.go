package boltlog

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
)

// Records written before traces (formatV1, four strings) still decode, without a
// TraceParent; new records (formatV2) keep it.
func TestDecodesBothFormats(t *testing.T) {
	at := time.UnixMilli(1_777_658_400_123).UTC()
	var v1 bytes.Buffer
	v1.WriteByte(formatV1)
	for _, s := range []string{"e-1", "TicketsSold", "corr", "cause"} {
		v1.Write(binary.AppendUvarint(nil, uint64(len(s))))
		v1.WriteString(s)
	}
	v1.Write(binary.AppendVarint(nil, 1))
	v1.Write(binary.AppendVarint(nil, at.UnixMilli()))
	v1.WriteString(`{"quantity":2}`)
	want := eventlog.Event{AggregateID: "c-1", Version: 3, EventID: "e-1", EventType: "TicketsSold", SchemaVersion: 1,
		OccurredAt: at, CorrelationID: "corr", CausationID: "cause", Data: []byte(`{"quantity":2}`)}
	tests := []struct {
		name string
		raw  []byte
		want eventlog.Event
	}{
		{"v1", v1.Bytes(), want},
		{"v2", encode(func() eventlog.Event {
			e := want
			e.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			return e
		}()),
			func() eventlog.Event {
				e := want
				e.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
				return e
			}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode("c-1", versionKey(3), tt.raw)
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "got %+v want %+v", got, tt.want)
		})
	}
}
