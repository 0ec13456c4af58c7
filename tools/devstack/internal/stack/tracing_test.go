package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/projections"
	"github.com/concertsys/tools/devstack/internal/stack"
	"github.com/concertsys/tools/local/spanstore"
)

func post(t *testing.T, url, body string, header map[string]string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "POST %s: got %d %s", url, resp.StatusCode, raw)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// TestOneCommandIsOneTrace sends one ticket sale with a caller's traceparent and
// finds every hop it caused in the stack's span store, in one trace whose spans all
// hang from the caller's span: the HTTP handler, the log append, the Pipe's
// enrichment, the bus's deliveries, the projection, the second PutEvents and the
// fan-out; the WebSocket notification of the change names the trace.
func TestOneCommandIsOneTrace(t *testing.T) {
	st := startInMemory(t, "")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	created := post(t, st.URL()+"/concerts", `{"artist":"The Midnight Owls","venue":"Paradiso","startsAt":"2030-09-12T20:00:00Z","capacity":100,"priceCents":4200}`, nil)
	id := created["id"].(string)

	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(st.URL(), "http")+stack.WebSocketPath, nil)
	require.NoError(t, err)
	defer conn.CloseNow()
	require.NoError(t, conn.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"action":"subscribe","concertId":%q}`, id)))
	_, reply, err := conn.Read(ctx)
	require.NoError(t, err)
	require.Contains(t, string(reply), `"subscribed"`)

	const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	sold := post(t, st.URL()+"/concerts/"+id+"/tickets", `{"quantity":2}`,
		map[string]string{"traceparent": "00-" + traceID + "-" + callerSpan + "-01"})
	version := int64(sold["version"].(float64))

	// The notification of the sale carries the trace id of the command.
	for {
		_, msg, err := conn.Read(ctx)
		require.NoError(t, err, "waiting for the concert.updated of version %d", version)
		var m struct {
			Type    string `json:"type"`
			Version int64  `json:"version"`
			TraceID string `json:"traceId"`
		}
		require.NoError(t, json.Unmarshal(msg, &m))
		if m.Type == "concert.updated" && m.Version == version {
			require.Equal(t, traceID, m.TraceID, "traceId of the notification: got %q want %q", m.TraceID, traceID)
			break
		}
	}

	want := []string{
		"concerts/" + concerts.FunctionSellTickets,
		eventlog.SpanAppend,
		"concerts/" + concerts.FunctionEnrichEvents,
		stack.SpanBusDelivery + " " + projections.SubscriptionName,
		"projections/" + projections.FunctionProjectConcerts,
		"projections/PutEvents ConcertViewUpdated",
		stack.SpanBusDelivery + " " + notifications.SubscriptionConcertViewUpdated,
		"notifications/" + notifications.FunctionFanOut,
	}
	// The fan-out span ends just after its post reached the client: poll briefly.
	var spans []spanstore.Span
	for deadline := time.Now().Add(10 * time.Second); ; {
		spans = st.Spans().Trace(traceID)
		if hasAll(spans, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A hop may fail and be retried (the fan-out waits for an earlier version's post
	// still in flight): each must have succeeded once.
	names := map[string]spanstore.Span{}
	for _, s := range spans {
		if _, seen := names[s.Name]; !seen && !s.Failed {
			names[s.Name] = s
		}
	}
	for _, name := range want {
		s, ok := names[name]
		require.True(t, ok, "no successful span %q in trace %s; got %v", name, traceID, spanNames(spans))
		require.False(t, s.End.Before(s.Start), "span %q: end %v before start %v", name, s.End, s.Start)
	}
	// One tree: every span's parent is in the trace, but the HTTP handler's, which is
	// the caller's span.
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	for _, s := range spans {
		if s.Name == want[0] {
			require.Equal(t, callerSpan, s.ParentID, "HTTP handler's parent: got %s want the caller's %s", s.ParentID, callerSpan)
			continue
		}
		require.True(t, ids[s.ParentID], "span %q: parent %s is not in the trace", s.Name, s.ParentID)
	}
	// The path runs in this order: each hop's parent chain reaches the one before.
	parentOf := map[string]string{}
	byID := map[string]spanstore.Span{}
	for _, s := range spans {
		parentOf[s.SpanID], byID[s.SpanID] = s.ParentID, s
	}
	descends := func(child, ancestor spanstore.Span) bool {
		for id := child.ParentID; id != ""; id = parentOf[id] {
			if id == ancestor.SpanID {
				return true
			}
		}
		return false
	}
	for i := 1; i < len(want); i++ {
		require.True(t, descends(names[want[i]], names[want[i-1]]), "span %q does not descend from %q", want[i], want[i-1])
	}
}

func hasAll(spans []spanstore.Span, names []string) bool {
	have := map[string]bool{}
	for _, s := range spans {
		have[s.Name] = have[s.Name] || !s.Failed
	}
	for _, n := range names {
		if !have[n] {
			return false
		}
	}
	return true
}

func spanNames(spans []spanstore.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name
	}
	return out
}
