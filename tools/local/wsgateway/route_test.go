package wsgateway

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSelectRoute(t *testing.T) {
	routes := map[string]bool{"subscribe": true, "unsubscribe": true, RouteConnect: true, RouteDisconnect: true, RouteDefault: true}
	has := func(k string) bool { return routes[k] }
	tests := []struct {
		body string
		want string
	}{
		{`{"action":"subscribe"}`, "subscribe"},
		{` {"concertId":"x","action":"unsubscribe"} `, "unsubscribe"},
		{`{"action":"SUBSCRIBE"}`, RouteDefault}, // route keys are case sensitive
		{`{"action":"nope"}`, RouteDefault},
		{`{"action":""}`, RouteDefault},
		{`{"action":null}`, RouteDefault},
		{`{"action":["subscribe"]}`, RouteDefault},
		{`{"action":"$connect"}`, RouteDefault},
		{`{"action":"$default"}`, RouteDefault},
		{`{"action":"subscribe"`, RouteDefault},
		{`"subscribe"`, RouteDefault},
		{``, RouteDefault},
		{`subscribe`, RouteDefault},
		{`{"action":"sub\u0073cribe"}`, "subscribe"},
		{`{"Action":"subscribe"}`, RouteDefault}, // member names are case sensitive
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			got, ok := selectRoute([]byte(tc.body), has)
			require.True(t, ok)
			require.Equal(t, tc.want, got, "got route %q want %q", got, tc.want)
		})
	}
	t.Run("no default route", func(t *testing.T) {
		got, ok := selectRoute([]byte(`{"action":"nope"}`), func(k string) bool { return k == "subscribe" })
		require.False(t, ok)
		require.Equal(t, RouteDefault, got)
	})
}

// FuzzSelectRoute checks that any client message routes without panicking, and only
// to the route its JSON "action" names or to $default.
func FuzzSelectRoute(f *testing.F) {
	for _, seed := range []string{
		`{"action":"subscribe","concertId":"c-1"}`,
		`{"action":"unsubscribe","concertId":"*"}`,
		`{"action":"$disconnect"}`,
		`{"action":1}`,
		`{"action":"subscribe","action":"unsubscribe"}`,
		`[{"action":"subscribe"}]`,
		`{"action":"\ud800"}`,
		"\xff\xfe",
		``,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	routes := map[string]bool{"subscribe": true, "unsubscribe": true, RouteConnect: true, RouteDisconnect: true, RouteDefault: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := selectRoute(body, func(k string) bool { return routes[k] })
		if !ok || !routes[got] || got == RouteConnect || got == RouteDisconnect {
			t.Fatalf("body %q: got route %q (ok=%v), want a selectable route", body, got, ok)
		}
		if got == RouteDefault {
			return
		}
		var msg map[string]any
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Fatalf("body %q routed to %q but is not a JSON object: %v", body, got, err)
		}
		if msg["action"] != got {
			t.Fatalf("body %q routed to %q, want its action %v", body, got, msg["action"])
		}
	})
}
