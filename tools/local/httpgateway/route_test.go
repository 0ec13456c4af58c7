package httpgateway

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzMatch checks that matching any path never panics and that a match is
// consistent: putting the path parameters back into the route template gives the
// request path again.
func FuzzMatch(f *testing.F) {
	for _, seed := range []string{"/concerts", "/concerts/c-1", "/concerts/a%2Fb/events", "/files/a/b/c", "/", "//", "/concerts/%zz", "/concerts/c-1/"} {
		f.Add("GET", seed)
	}
	f.Add("POST", "/concerts/x/tickets")
	g := &Gateway{}
	for _, key := range []string{"GET /concerts", "GET /concerts/{id}", "ANY /concerts/{id}/events", "POST /concerts/{id}/tickets", "GET /files/{proxy+}", "GET /"} {
		k, err := parseRouteKey(key)
		if err != nil {
			f.Fatal(err)
		}
		g.routes = append(g.routes, route{key: k})
	}
	f.Fuzz(func(t *testing.T, method, rawPath string) {
		if !strings.HasPrefix(rawPath, "/") {
			return
		}
		rt, params := g.match(method, rawPath)
		if rt == nil {
			return
		}
		if rt.key.method != "ANY" && rt.key.method != method {
			t.Fatalf("%s %s matched %q", method, rawPath, rt.key.raw)
		}
		parts := []string{}
		for _, s := range rt.key.segments {
			if s.kind == segLiteral {
				parts = append(parts, s.text)
			} else {
				parts = append(parts, params[s.text])
			}
		}
		want := rawPath
		if u, err := url.PathUnescape(rawPath); err == nil {
			want = u
		}
		if got := "/" + strings.Join(parts, "/"); got != want && !strings.Contains(rawPath, "%") {
			t.Fatalf("%s %s matched %q with %v, which rebuilds %q", method, rawPath, rt.key.raw, params, got)
		}
	})
}
