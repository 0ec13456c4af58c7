package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/sales/internal/domain"
)

func TestMeasure(t *testing.T) {
	tests := []struct {
		name, eventType, data string
		want                  domain.Measurement
		wantErr               bool
	}{
		{name: "a sale counts its tickets", eventType: domain.TicketsSold, data: `{"quantity":4,"ticketsSold":4,"ticketsAvailable":1}`, want: domain.Measurement{Amount: 4, Events: 1}},
		{name: "a scheduled concert adds nothing", eventType: domain.ConcertScheduled, data: `{"artist":"A"}`},
		{name: "a sale without quantity", eventType: domain.TicketsSold, data: `{}`, wantErr: true},
		{name: "a sale of zero", eventType: domain.TicketsSold, data: `{"quantity":0}`, wantErr: true},
		{name: "a sale that is not JSON", eventType: domain.TicketsSold, data: `[`, wantErr: true},
		{name: "an event type not subscribed", eventType: "ConcertCancelled", data: `{}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.Measure(tc.eventType, json.RawMessage(tc.data))
			if tc.wantErr {
				require.Error(t, err, "got %+v", got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "got %+v want %+v", got, tc.want)
		})
	}
}
