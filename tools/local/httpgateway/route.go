package httpgateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// segKind orders how specific a path segment is; API Gateway prefers literal segments
// over {param} over a greedy {proxy+}.
type segKind int

const (
	segGreedy segKind = iota
	segParam
	segLiteral
)

type segment struct {
	kind segKind
	text string // literal text, or the parameter name
}

// routeKey is a parsed "METHOD /path/{param}" or "$default".
type routeKey struct {
	raw      string
	method   string // upper case, "ANY" for any method
	segments []segment
	fallback bool // $default
}

func parseRouteKey(key string) (routeKey, error) {
	if key == "$default" {
		return routeKey{raw: key, fallback: true}, nil
	}
	method, path, ok := strings.Cut(key, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		return routeKey{}, fmt.Errorf("route key %q: want \"METHOD /path\" or \"$default\"", key)
	}
	if method != strings.ToUpper(method) {
		return routeKey{}, fmt.Errorf("route key %q: method must be upper case", key)
	}
	rk := routeKey{raw: key, method: method}
	if path == "/" {
		return rk, nil
	}
	parts := strings.Split(path[1:], "/")
	seen := map[string]bool{}
	for i, p := range parts {
		switch {
		case p == "":
			return routeKey{}, fmt.Errorf("route key %q: empty path segment", key)
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
			if i != len(parts)-1 {
				return routeKey{}, fmt.Errorf("route key %q: greedy parameter must be last", key)
			}
			rk.segments = append(rk.segments, segment{kind: segGreedy, text: p[1 : len(p)-2]})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			rk.segments = append(rk.segments, segment{kind: segParam, text: p[1 : len(p)-1]})
		case strings.ContainsAny(p, "{}"):
			return routeKey{}, fmt.Errorf("route key %q: parameter must be a whole segment", key)
		default:
			rk.segments = append(rk.segments, segment{kind: segLiteral, text: p})
			continue
		}
		name := rk.segments[len(rk.segments)-1].text
		if name == "" || seen[name] {
			return routeKey{}, fmt.Errorf("route key %q: empty or repeated parameter %q", key, name)
		}
		seen[name] = true
	}
	return rk, nil
}

// match reports whether the request matches and returns its path parameters. rawSegs
// are the escaped path segments; parameter values are unescaped like API Gateway does.
func (rk routeKey) match(method string, rawSegs []string) (map[string]string, bool) {
	if rk.fallback {
		return nil, true
	}
	if rk.method != "ANY" && rk.method != method {
		return nil, false
	}
	var params map[string]string
	for i, s := range rk.segments {
		if s.kind == segGreedy {
			if i >= len(rawSegs) {
				return nil, false // {proxy+} needs at least one segment
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s.text] = unescape(strings.Join(rawSegs[i:], "/"))
			return params, true
		}
		if i >= len(rawSegs) || rawSegs[i] == "" {
			return nil, false
		}
		switch s.kind {
		case segLiteral:
			if unescape(rawSegs[i]) != s.text {
				return nil, false
			}
		case segParam:
			if params == nil {
				params = map[string]string{}
			}
			params[s.text] = unescape(rawSegs[i])
		}
	}
	if len(rawSegs) != len(rk.segments) {
		return nil, false
	}
	return params, true
}

// moreSpecific reports whether a should win over b when both match: the first segment
// that differs decides (literal > param > greedy, longer beats shorter), then an exact
// method beats ANY, and $default loses to everything.
func moreSpecific(a, b routeKey) bool {
	if a.fallback != b.fallback {
		return b.fallback
	}
	for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
		if a.segments[i].kind != b.segments[i].kind {
			return a.segments[i].kind > b.segments[i].kind
		}
	}
	if len(a.segments) != len(b.segments) {
		return len(a.segments) > len(b.segments)
	}
	return a.method != "ANY" && b.method == "ANY"
}

func splitPath(escaped string) []string {
	p := strings.TrimPrefix(escaped, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// methodKnown keeps obviously bogus methods from matching ANY routes.
func methodKnown(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}
