package stack

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/concertsys/platform/httpapi"
)

// guard is devstack's front door, in front of every endpoint. devstack has no
// authentication of its own on most endpoints, so it trusts only the developer's
// machine:
//
//   - Host must be a loopback name (localhost, *.localhost, 127.0.0.0/8, [::1]),
//     the -addr host, or a name given with -allow-host; others get 421 Misdirected
//     Request. A web page whose DNS name is rebound to 127.0.0.1 still sends its
//     own name as Host, so DNS rebinding cannot reach devstack.
//   - A browser request that changes state (any method but GET, HEAD, OPTIONS) or
//     upgrades to a WebSocket and carries an Origin must come from devstack's own
//     origin or one given with -allow-origin; others get 403. Requests without
//     Origin (curl, the AWS SDK, the devstack subcommands) are not browser
//     requests and pass; browsers always send Origin on such requests, so a form
//     or fetch from a foreign page (even a text/plain "simple" request that skips
//     the CORS preflight) cannot change anything.
type guard struct {
	addrHost string          // the -addr host, lower case, without brackets
	hosts    map[string]bool // -allow-host names, lower case, without port
	origins  map[string]bool // -allow-origin origins, scheme://host[:port], lower case
}

func newGuard(addr string, hosts, origins []string) (*guard, error) {
	g := &guard{hosts: map[string]bool{}, origins: map[string]bool{}}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		g.addrHost = strings.ToLower(h)
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if strings.Contains(h, "/") {
			return nil, fmt.Errorf("allowed host %q: want a host name, e.g. devbox.lan, not a URL", h)
		}
		g.hosts[hostOnly(h)] = true
	}
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("allowed origin %q: want scheme://host[:port], e.g. http://devbox.lan:3000", o)
		}
		g.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return g, nil
}

// hostOnly is a Host header's name: no port, no brackets, no trailing dot, lower case.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
}

func (g *guard) hostAllowed(host string) bool {
	if host == "" {
		return false
	}
	if loopbackHost(host) {
		return true
	}
	h := hostOnly(host)
	return (g.addrHost != "" && h == g.addrHost) || g.hosts[h]
}

// originAllowed reports whether a browser request from origin may change state on
// host: same scheme, host and port as devstack (it serves plain HTTP), or allowed
// by flag. The opaque origin "null" (sandboxed frames, file: pages) never is.
func (g *guard) originAllowed(origin, host string) bool {
	o := strings.ToLower(origin)
	return o == "http://"+strings.ToLower(host) || g.origins[o]
}

// safeMethod is a method that changes nothing, per RFC 9110 9.2.1.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func (g *guard) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.hostAllowed(r.Host) {
			w.Header().Set("Cache-Control", "no-store")
			httpapi.WriteProblem(w, r, http.StatusMisdirectedRequest,
				fmt.Sprintf("devstack does not serve host %q: only loopback names and names given with -allow-host", r.Host))
			return
		}
		if origin, ok := r.Header["Origin"]; ok && (!safeMethod(r.Method) || isWebSocketUpgrade(r)) {
			o := ""
			if len(origin) > 0 {
				o = origin[0]
			}
			if len(origin) != 1 || !g.originAllowed(o, r.Host) {
				w.Header().Set("Cache-Control", "no-store")
				httpapi.WriteProblem(w, r, http.StatusForbidden,
					fmt.Sprintf("cross-origin request from %q refused: only devstack's own origin and origins given with -allow-origin may change state or open a WebSocket", o))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
