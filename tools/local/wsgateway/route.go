package wsgateway

import (
	"encoding/json"
)

// RouteSelectionKey is the route selection expression the emulator implements.
const RouteSelectionKey = "$request.body.action"

// action evaluates $request.body.action: the string "action" member of a JSON object
// body. Anything else (not JSON, not an object, no action, a non-string action) has no
// action and goes to $default, as on API Gateway.
func action(body []byte) (string, bool) {
	// A map, not a struct: encoding/json matches struct fields case-insensitively, but
	// the selection expression names the member "action" exactly.
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return "", false
	}
	raw, found := obj["action"]
	if !found {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" {
		return "", false
	}
	return s, true
}

// selectRoute returns the route key for a message body: the action when a route has
// that key (the reserved $connect/$disconnect keys cannot be selected by a client),
// else "$default". ok is false when not even $default exists.
func selectRoute(body []byte, has func(key string) bool) (key string, ok bool) {
	if a, found := action(body); found && a != RouteConnect && a != RouteDisconnect && has(a) {
		return a, true
	}
	return RouteDefault, has(RouteDefault)
}
