// Package board is the live board page devstack serves at GET /.
package board

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
)

// Files holds index.html and inspector.html.
//
//go:embed index.html inspector.html
var Files embed.FS

// Handler serves the board with security headers: a Content-Security-Policy that
// allows only the page's own inline script and style (by hash), connections
// (fetch and WebSocket) to its own origin and no framing at all (the page holds an
// organizer token, so no other site may frame it and trick clicks), nosniff and
// a Referrer-Policy that sends nothing to other sites.
func Handler() http.Handler {
	files := http.FileServerFS(Files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w.Header(), CSP())
		files.ServeHTTP(w, r)
	})
}

// InspectorHandler serves the inspector page (inspector.html) with the board's
// security headers and a policy derived from that page the same way.
func InspectorHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w.Header(), InspectorCSP())
		http.ServeFileFS(w, r, Files, "inspector.html")
	})
}

func secure(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
}

// InspectorCSP is the inspector page's Content-Security-Policy.
var InspectorCSP = sync.OnceValue(func() string { return pageCSP("inspector.html") })

// CSP is the board's Content-Security-Policy, derived from index.html so that an
// edit to its inline script or style keeps the policy in step.
var CSP = sync.OnceValue(func() string { return pageCSP("index.html") })

func pageCSP(name string) string {
	page, err := Files.ReadFile(name)
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return "default-src 'none'; " +
		"script-src " + inlineHashes(string(page), "script") + "; " +
		"style-src " + inlineHashes(string(page), "style") + "; " +
		"connect-src 'self'; img-src 'self' data:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// inlineHashes lists the CSP hash sources of every <tag>…</tag> block in page, or
// 'none' when there is none.
func inlineHashes(page, tag string) string {
	var srcs []string
	open, end := "<"+tag+">", "</"+tag+">"
	for {
		i := strings.Index(page, open)
		if i < 0 {
			break
		}
		page = page[i+len(open):]
		j := strings.Index(page, end)
		if j < 0 {
			break
		}
		sum := sha256.Sum256([]byte(page[:j]))
		srcs = append(srcs, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		page = page[j+len(end):]
	}
	if len(srcs) == 0 {
		return "'none'"
	}
	return strings.Join(srcs, " ")
}
