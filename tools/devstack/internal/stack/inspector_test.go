package stack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/devstack/internal/stack"
	"github.com/concertsys/tools/local/localauth"
)

func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(raw, out), "GET %s: %s", url, raw)
	}
	return resp.StatusCode
}

// TestInspectorAPI drives the inspector's endpoints as its page does: a concert's
// timeline shows each event with every hop and its duration, the rules it reached and
// the view version it produced; subscriptions count deliveries; the latency panel has
// every stage; the live stream shows an event with its matched rules; redrive needs the
// organizer token.
func TestInspectorAPI(t *testing.T) {
	st, err := stack.Start(context.Background(), stack.Config{Addr: "127.0.0.1:0", InMemory: true, Auth: true, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	tok, err := st.Issuer().Token("t", []string{localauth.OrganizersGroup}, time.Hour)
	require.NoError(t, err)
	auth := map[string]string{"Authorization": "Bearer " + tok}
	api := st.URL() + stack.InspectorAPIPath

	// The stream is open before the write, so it sees the write's events.
	streamCtx, stopStream := context.WithTimeout(t.Context(), 30*time.Second)
	defer stopStream()
	req, err := http.NewRequestWithContext(streamCtx, http.MethodGet, api+"stream?pattern="+url.QueryEscape(`{"detail-type":["ConcertScheduled"]}`), nil)
	require.NoError(t, err)
	stream, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer stream.Body.Close()
	require.Equal(t, "text/event-stream", stream.Header.Get("Content-Type"))

	created := post(t, st.URL()+"/concerts", `{"artist":"A","venue":"V","startsAt":"2030-09-12T20:00:00Z","capacity":100,"priceCents":100}`, auth)
	id := created["id"].(string)
	post(t, st.URL()+"/concerts/"+id+"/tickets", `{"quantity":3}`, auth)

	t.Run("live stream with matched rules", func(t *testing.T) {
		line, err := bufio.NewReader(stream.Body).ReadString('\n')
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(line, "data: "), "got %q", line)
		var msg struct {
			Event struct {
				DetailType string `json:"detail-type"`
			} `json:"event"`
			Rules   []string `json:"rules"`
			TraceID string   `json:"traceId"`
		}
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &msg))
		require.Equal(t, "ConcertScheduled", msg.Event.DetailType, "the pattern filters")
		require.Contains(t, msg.Rules, "projections-concert-events")
		require.Len(t, msg.TraceID, 32)
	})
	t.Run("bad stream pattern is a 400", func(t *testing.T) {
		require.Equal(t, http.StatusBadRequest, getJSON(t, api+"stream?pattern="+url.QueryEscape(`{"source":"x"}`), nil))
	})

	t.Run("timeline", func(t *testing.T) {
		var tl stack.Timeline
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			require.Equal(t, http.StatusOK, getJSON(t, api+"timeline/"+id, &tl))
			if len(tl.Events) == 2 && tl.Events[1].ViewVersion == "2" && tl.Events[1].WSSent >= 0 && hasHop(tl.Events[1], "notifications/fan-out") || time.Now().After(deadline) {
				break
			}
		}
		require.Len(t, tl.Events, 2)
		sale := tl.Events[1]
		require.Equal(t, "TicketsSold", sale.Type)
		require.Equal(t, "2", sale.ViewVersion, "the sale produced view version 2")
		require.Len(t, sale.TraceID, 32)
		require.NotEmpty(t, sale.StreamRecord, "the Pipe's stream record")
		require.Subset(t, sale.Rules, []string{"projections-concert-events", "notifications-view-updates"}, "the rules the sale reached")
		require.NotEmpty(t, sale.BusEventIDs)
		for _, name := range []string{"concerts/sell-tickets", "eventlog.Append", "concerts/enrich-events", "projections/project-concerts", "notifications/fan-out"} {
			require.True(t, hasHop(sale, name), "hop %s missing: %+v", name, sale.Hops)
		}
		for _, h := range sale.Hops {
			require.GreaterOrEqual(t, h.DurationMs, 0.0, "hop %s", h.Name)
		}
	})

	t.Run("subscriptions count deliveries", func(t *testing.T) {
		// The consumer runs from its queue after the bus's hand-off: wait for both sales.
		var p stack.Subscription
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var subs struct {
				Subscriptions []stack.Subscription `json:"subscriptions"`
			}
			require.Equal(t, http.StatusOK, getJSON(t, api+"subscriptions", &subs))
			for _, s := range subs.Subscriptions {
				if s.Rule == "projections-concert-events" {
					p = s
				}
			}
			if p.Delivered >= 2 || time.Now().After(deadline) {
				break
			}
		}
		require.GreaterOrEqual(t, p.Delivered, uint64(2), "got %+v", p)
		require.GreaterOrEqual(t, p.Matched, uint64(2), "got %+v", p)
		require.Contains(t, string(p.Pattern), `"concerts"`)
		require.Contains(t, p.Target, "sqs", "the rule's target is its queue, as on AWS")
		require.Contains(t, p.Target, "projections-concert-events")
	})

	t.Run("latency has every stage", func(t *testing.T) {
		var l struct {
			Stages []stack.LatencyStage `json:"stages"`
		}
		require.Equal(t, http.StatusOK, getJSON(t, api+"latency", &l))
		var names []string
		for _, s := range l.Stages {
			names = append(names, s.Stage)
			require.Positive(t, s.Count, "stage %s has samples", s.Stage)
			require.LessOrEqual(t, s.P50Ms, s.P99Ms, "stage %s", s.Stage)
		}
		require.Equal(t, []string{"write", "log", "bus", "view", "websocket"}, names)
	})

	t.Run("redrive needs the organizer token", func(t *testing.T) {
		tests := []struct {
			name   string
			header map[string]string
			want   int
		}{
			{"no token", nil, http.StatusUnauthorized},
			{"no organizer", map[string]string{"Authorization": "Bearer " + mustToken(t, st, nil)}, http.StatusForbidden},
			{"organizer, unknown id", auth, http.StatusNotFound},
			{"organizer from another site's page", map[string]string{"Authorization": auth["Authorization"], "Origin": "http://evil.example"}, http.StatusForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, err := http.NewRequest(http.MethodPost, api+"dead-letters/redrive", strings.NewReader(`{"ids":["dl-nope"]}`))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/json")
				for k, v := range tt.header {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, tt.want, resp.StatusCode, "got %d want %d", resp.StatusCode, tt.want)
			})
		}
		var dls map[string]any
		require.Equal(t, http.StatusOK, getJSON(t, api+"dead-letters", &dls))
		require.Empty(t, dls["deadLetters"])
	})

	t.Run("inspector page", func(t *testing.T) {
		resp, err := http.Get(st.URL() + stack.InspectorPath)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	})
}

func mustToken(t *testing.T, st *stack.Stack, groups []string) string {
	t.Helper()
	tok, err := st.Issuer().Token("someone", groups, time.Hour)
	require.NoError(t, err)
	return tok
}

func hasHop(e stack.TimelineEvent, name string) bool {
	for _, h := range e.Hops {
		if h.Name == name && !h.Failed {
			return true
		}
	}
	return false
}
