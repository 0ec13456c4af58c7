package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/notifications/internal/domain"
)

func TestDecodeConcertViewUpdated(t *testing.T) {
	const valid = `{"metadata":{"eventId":"e1","aggregateId":"c1","aggregateVersion":4,"eventType":"ConcertViewUpdated","schemaVersion":1},
		"data":{"id":"c1","artist":"A","venue":"V","startsAt":"2026-09-13T20:00:00Z","capacity":10,"priceCents":5,"ticketsSold":4,
		"ticketsAvailable":6,"status":"scheduled","version":4,"updatedAt":"2026-05-01T18:04:00Z","futureField":1}}`
	u, err := domain.DecodeConcertViewUpdated([]byte(valid))
	require.NoError(t, err)
	require.Equal(t, "c1", u.ConcertID)
	require.Equal(t, int64(4), u.Version)
	var view map[string]any
	require.NoError(t, json.Unmarshal(u.View, &view))
	require.Equal(t, "A", view["artist"])
	require.NotContains(t, view, "futureField", "the view is re-encoded from the consumer's own type")

	bad := []struct{ name, detail string }{
		{"not JSON", `{`},
		{"no data", `{"metadata":{"aggregateId":"c1","aggregateVersion":1}}`},
		{"no aggregate id", `{"metadata":{"aggregateVersion":1},"data":{"id":"","version":1}}`},
		{"zero version", `{"metadata":{"aggregateId":"c1","aggregateVersion":0},"data":{"id":"c1","version":0}}`},
		{"ids differ", `{"metadata":{"aggregateId":"c1","aggregateVersion":1},"data":{"id":"c2","version":1}}`},
		{"versions differ", `{"metadata":{"aggregateId":"c1","aggregateVersion":2},"data":{"id":"c1","version":1}}`},
		{"star as concert", `{"metadata":{"aggregateId":"*","aggregateVersion":1},"data":{"id":"*","version":1}}`},
		{"unsupported schema version", `{"metadata":{"aggregateId":"c1","aggregateVersion":1,"schemaVersion":2},"data":{"id":"c1","version":1}}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := domain.DecodeConcertViewUpdated([]byte(tt.detail))
			require.Error(t, err, "got nil error for %s", tt.detail)
		})
	}
}
