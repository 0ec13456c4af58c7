package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/sales/internal/domain"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name, detail string
		wantErr      bool
		wantHour     time.Time
		wantVersion  int64
	}{
		{name: "valid", detail: `{"metadata":{"eventId":"e","aggregateId":"a-1","aggregateVersion":3,"eventType":"X","occurredAt":"2026-05-01T18:59:59.9Z"},"data":{}}`,
			wantHour: time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC), wantVersion: 3},
		{name: "offset time is bucketed in UTC", detail: `{"metadata":{"aggregateId":"a","aggregateVersion":1,"occurredAt":"2026-05-01T20:30:00+02:00"},"data":{}}`,
			wantHour: time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC), wantVersion: 1},
		{name: "not JSON", detail: `{`, wantErr: true},
		{name: "bad id", detail: `{"metadata":{"aggregateId":"a/b","aggregateVersion":1,"occurredAt":"2026-05-01T18:00:00Z"}}`, wantErr: true},
		{name: "no version", detail: `{"metadata":{"aggregateId":"a","occurredAt":"2026-05-01T18:00:00Z"}}`, wantErr: true},
		{name: "no time", detail: `{"metadata":{"aggregateId":"a","aggregateVersion":1}}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := domain.ParseEvent([]byte(tc.detail))
			if tc.wantErr {
				require.ErrorIs(t, err, domain.ErrInvalidEvent, "got %v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantHour, e.Hour, "got hour %s want %s", e.Hour, tc.wantHour)
			require.Equal(t, tc.wantVersion, e.Version, "got version %d want %d", e.Version, tc.wantVersion)
		})
	}
}
