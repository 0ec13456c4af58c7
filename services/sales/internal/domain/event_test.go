package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/sales/internal/domain"
)

// Valid events are the schemas' examples, run through the consumer by the root
// package's contract test; here, what no event may be.
func TestParseEventRefuses(t *testing.T) {
	tests := []struct{ name, detail string }{
		{name: "not JSON", detail: `{`},
		{name: "bad id", detail: `{"metadata":{"aggregateId":"a/b","aggregateVersion":1,"occurredAt":"2026-05-01T18:00:00Z"}}`},
		{name: "id too long", detail: `{"metadata":{"aggregateId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","aggregateVersion":1,"occurredAt":"2026-05-01T18:00:00Z"}}`},
		{name: "no version", detail: `{"metadata":{"aggregateId":"a","occurredAt":"2026-05-01T18:00:00Z"}}`},
		{name: "no time", detail: `{"metadata":{"aggregateId":"a","aggregateVersion":1}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := domain.ParseEvent([]byte(tc.detail))
			require.ErrorIs(t, err, domain.ErrInvalidEvent, "got %v", err)
		})
	}
}

func TestHourOf(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{in: "2026-05-01T18:59:59.999Z", want: "2026-05-01T18:00:00Z"},
		{in: "2026-05-01T20:30:00+02:00", want: "2026-05-01T18:00:00Z"},
		{in: "2026-05-01T18:00:00Z", want: "2026-05-01T18:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			in, err := time.Parse(time.RFC3339, tc.in)
			require.NoError(t, err)
			got := domain.HourOf(in).Format(time.RFC3339)
			require.Equal(t, tc.want, got, "got %s want %s", got, tc.want)
		})
	}
}
