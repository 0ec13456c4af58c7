package domain_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/notifications/internal/domain"
)

func TestSplitFanOut(t *testing.T) {
	u := domain.ConcertViewUpdated{EventID: "e1", ConcertID: "c1", Version: 3}
	msg := []byte(`{"type":"concert.updated"}`)
	conns := func(n, idLen int) []string {
		var out []string
		for i := range n {
			id := fmt.Sprintf("%0*d", idLen, i)
			out = append(out, id)
		}
		return out
	}
	tests := []struct {
		name      string
		conns     []string
		perBatch  int
		wantSizes []int
	}{
		{"none", nil, 500, nil},
		{"one batch", conns(3, 8), 500, []int{3}},
		{"500 per batch", conns(1201, 8), 500, []int{500, 500, 201}},
		{"smaller batches", conns(25, 8), 10, []int{10, 10, 5}},
		{"long ids halve a batch to fit 256 KB", conns(500, 1000), 500, []int{250, 250}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bodies, err := domain.SplitFanOut(u, msg, tt.conns, tt.perBatch)
			require.NoError(t, err)
			var sizes []int
			var all []string
			for _, b := range bodies {
				require.LessOrEqual(t, len(b), domain.MaxBatchBodyBytes)
				got, err := domain.DecodeFanOutBatch(b)
				require.NoError(t, err)
				require.Equal(t, "c1", got.ConcertID)
				require.Equal(t, int64(3), got.Version)
				require.JSONEq(t, string(msg), string(got.Message))
				sizes = append(sizes, len(got.Connections))
				all = append(all, got.Connections...)
			}
			require.Equal(t, tt.wantSizes, sizes, "got batch sizes %v want %v", sizes, tt.wantSizes)
			require.Equal(t, len(tt.conns), len(all), "every connection in exactly one batch")
		})
	}
	_, err := domain.SplitFanOut(u, msg, conns(1, 8), 501)
	require.Error(t, err)
}

func TestDecodeFanOutBatch(t *testing.T) {
	ok := domain.FanOutBatch{ConcertID: "c1", Version: 1, Message: json.RawMessage(`{}`), Connections: []string{"a"}}
	tests := []struct {
		name   string
		change func(b *domain.FanOutBatch)
		raw    string
	}{
		{"no concert", func(b *domain.FanOutBatch) { b.ConcertID = "" }, ""},
		{"version 0", func(b *domain.FanOutBatch) { b.Version = 0 }, ""},
		{"no connections", func(b *domain.FanOutBatch) { b.Connections = nil }, ""},
		{"too many connections", func(b *domain.FanOutBatch) { b.Connections = make([]string, domain.MaxBatchConnections+1) }, ""},
		{"no message", func(b *domain.FanOutBatch) { b.Message = nil }, ""},
		{"message too large", func(b *domain.FanOutBatch) {
			b.Message = json.RawMessage(`{"x":"` + strings.Repeat("x", domain.MaxMessageBytes) + `"}`)
		}, ""},
		{"not json", nil, "{"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.raw)
			if tt.change != nil {
				b := ok
				tt.change(&b)
				body, _ = json.Marshal(b)
			}
			_, err := domain.DecodeFanOutBatch(body)
			require.ErrorIs(t, err, domain.ErrBadBatch, "got %v want ErrBadBatch", err)
		})
	}
	good, _ := json.Marshal(ok)
	_, err := domain.DecodeFanOutBatch(good)
	require.NoError(t, err)
}
