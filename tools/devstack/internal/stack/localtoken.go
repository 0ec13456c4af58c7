package stack

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/tools/local/localauth"
)

// LocalTokenPath is where the live board gets an organizer token on its own.
//
// A local-development convenience only devstack offers: it answers
// {"auth":true,"token","expiresAt"} with a short-lived organizer JWT, or
// {"auth":false} when devstack runs with -auth=off. It answers only requests that
// come from a loopback address and name a loopback host (so a web page whose DNS
// name was rebound to 127.0.0.1 cannot use it); it sends no CORS headers, so other
// origins cannot read it. Nothing like it exists on AWS.
const LocalTokenPath = "/_local/token"

// LocalTokenTTL is the lifetime of a board token; the page fetches a new one when a
// write answers 401.
const LocalTokenTTL = time.Hour

// LocalTokenSubject is the sub claim of board tokens.
const LocalTokenSubject = "live-board"

func (s *Stack) serveLocalToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !loopbackRemote(r.RemoteAddr) || !loopbackHost(r.Host) {
		httpapi.WriteProblem(w, r, http.StatusForbidden, "the local token is only handed out to loopback clients of a loopback host name")
		return
	}
	if s.issuer == nil {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"auth": false})
		return
	}
	expires := time.Now().Add(LocalTokenTTL)
	tok, err := s.issuer.Token(LocalTokenSubject, []string{localauth.OrganizersGroup}, LocalTokenTTL)
	if err != nil {
		s.log.Error("issue local token", "err", err)
		httpapi.WriteProblem(w, r, http.StatusInternalServerError, "could not issue a token")
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"auth": true, "token": tok, "expiresAt": expires.UTC().Format(time.RFC3339)})
}

func loopbackRemote(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
