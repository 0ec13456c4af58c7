package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAsyncAPIDocument(t *testing.T) {
	types := catalogs()
	files, err := Generate(types)
	require.NoError(t, err)
	b, err := AsyncAPI(types, files, services())
	require.NoError(t, err)
	var doc struct {
		AsyncAPI   string                              `json:"asyncapi"`
		Channels   map[string]struct{ Address string } `json:"channels"`
		Operations map[string]struct {
			Action  string         `json:"action"`
			Channel map[string]any `json:"channel"`
			Rule    *struct {
				Name         string         `json:"name"`
				EventPattern map[string]any `json:"eventPattern"`
			} `json:"x-eventbridge-rule"`
		} `json:"operations"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Equal(t, "3.0.0", doc.AsyncAPI)
	require.Len(t, doc.Channels, len(types), "got %d channels, want one per event type", len(doc.Channels))
	require.Equal(t, "concerts/TicketsSold", doc.Channels["concerts.TicketsSold"].Address)

	sends, receives := map[string]bool{}, map[string]string{}
	for id, op := range doc.Operations {
		ch := op.Channel["$ref"].(string)
		switch op.Action {
		case "send":
			sends[ch] = true
		case "receive":
			require.NotNil(t, op.Rule, "%s: want the subscription's rule and pattern", id)
			require.NotEmpty(t, op.Rule.EventPattern["detail-type"], "%s", id)
			receives[id] = ch
		default:
			t.Fatalf("%s: got action %q", id, op.Action)
		}
	}
	require.Len(t, sends, len(types), "got %v, want a publisher per event type", sends)
	require.Equal(t, "#/channels/concerts.TicketsSold", receives["projections.project-concerts.receive.concerts.TicketsSold"], "got %v", receives)
	require.Equal(t, "#/channels/projections.ConcertViewUpdated", receives["notifications.fan-out.receive.projections.ConcertViewUpdated"], "got %v", receives)
	builtIn := 0
	for id := range receives {
		if strings.HasPrefix(id, "projections.") || strings.HasPrefix(id, "notifications.") {
			builtIn++
		}
	}
	require.Equal(t, 7, builtIn, "got %v: projections receives the six concert events, notifications ConcertViewUpdated", receives)
	for _, r := range registered { // services added with tools/newservice
		for _, c := range r.describe().Consumers {
			found := false
			for id := range receives {
				found = found || strings.HasPrefix(id, r.describe().Name+"."+c.Function+".receive.")
			}
			require.True(t, found, "got %v, want receive operations of %s/%s", receives, r.describe().Name, c.Function)
		}
	}
}

func TestMatchesRefusesPatternsItCannotEvaluate(t *testing.T) {
	ok, err := matches(json.RawMessage(`{"source":["concerts"],"detail-type":["TicketsSold"]}`), "concerts", "TicketsSold")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = matches(json.RawMessage(`{"source":["concerts"]}`), "projections", "ConcertViewUpdated")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = matches(json.RawMessage(`{"detail-type":[{"prefix":"Concert"}]}`), "concerts", "ConcertSoldOut")
	require.Error(t, err, "got a guess for a prefix matcher, want an error")
}
