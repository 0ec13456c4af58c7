package eventsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
)

func serveBus(t *testing.T, opts bus.Options) (*bus.Bus, string) {
	t.Helper()
	b, err := bus.New(opts)
	require.NoError(t, err)
	h := eventsapi.NewHandler(b)
	mux := http.NewServeMux()
	mux.Handle("/_aws/events/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = b.Close(context.Background())
	})
	return b, srv.URL + "/_aws/events"
}

func TestTailCapAnswers429(t *testing.T) {
	_, base := serveBus(t, bus.Options{MaxTails: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/tail", nil)
	open, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer open.Body.Close()
	require.Equal(t, http.StatusOK, open.StatusCode)

	resp, err := http.Get(base + "/tail")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "got %d %s, want 429", resp.StatusCode, body)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Contains(t, string(body), "too many tails open: at most 1", "got %s", body)
}

func TestDeadLetterPagingEndpoint(t *testing.T) {
	b, base := serveBus(t, bus.Options{RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond})
	require.NoError(t, b.Subscribe(subscription.Subscription{Name: "down", Pattern: json.RawMessage(`{"source":["s"]}`), MaxAttempts: 1},
		func(context.Context, events.EventBridgeEvent) error { return errors.New("down") }))
	const n = 5
	for range n {
		_, err := b.Put(context.Background(), []bus.Entry{{Source: "s", DetailType: "d", Detail: json.RawMessage(`{}`)}})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		dls, err := b.DeadLetters(context.Background())
		return err == nil && len(dls) == n
	}, 10*time.Second, 5*time.Millisecond)

	client := eventsapi.DevClient{BaseURL: base}
	seen := map[string]bool{}
	cursor := ""
	for pages := 1; ; pages++ {
		page, err := client.DeadLetterPage(context.Background(), 2, cursor)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.DeadLetters), 2, "got a page of %d, want at most 2", len(page.DeadLetters))
		for _, dl := range page.DeadLetters {
			require.False(t, seen[dl.ID], "got %s on two pages", dl.ID)
			seen[dl.ID] = true
		}
		if page.NextCursor == "" {
			require.Equal(t, 3, pages, "got %d pages, want 3", pages)
			break
		}
		cursor = page.NextCursor
	}
	require.Len(t, seen, n)
	all, err := client.DeadLetters(context.Background())
	require.NoError(t, err)
	require.Len(t, all, n, "got %d from the paging client, want %d", len(all), n)

	bad := []struct{ name, query string }{
		{"limit zero", "?limit=0"},
		{"limit too big", "?limit=1001"},
		{"limit not a number", "?limit=x"},
		{"empty cursor", "?cursor="},
		{"cursor that does not parse", "?cursor=%25%25%25%25x"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(base + "/dead-letters" + tt.query)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "got %d %s, want 400", resp.StatusCode, body)
		})
	}
}
