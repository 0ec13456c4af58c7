// Package apigwrequest holds what the local API Gateway emulators (httpgateway,
// wsgateway) fill into a request context alike: API Gateway-style ids and the
// caller's source IP.
package apigwrequest

import (
	"crypto/rand"
	"net"
	"net/http"
)

// NewID returns an API Gateway-style id (request, message or connection id): 15
// base64 characters and "=", e.g. "JKJaXmPLvHcESHA=".
func NewID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:]) + "="
}

// SourceIP is the caller's address without its port, as in the request context's
// sourceIp; r.RemoteAddr as it is when it has no port.
func SourceIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
