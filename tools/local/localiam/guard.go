package localiam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// EventBridge operations, as X-Amz-Target names them.
const (
	opPutEvents        = "AWSEvents.PutEvents"
	opTestEventPattern = "AWSEvents.TestEventPattern"
)

// replayPrefixes maps each built-in service principal that also rebuilds from the bus
// archive to the names its replays must start with, as its role's grant does on AWS:
// events:StartReplay on the archive and events:DescribeReplay on replay/<prefix>*
// (IAM has no condition key on a replay's FilterArns). Principals that may only
// replay are registered with RegisterReplayer.
var replayPrefixes = map[string]string{
	Projections: "projections-rebuild-",
}

// maxSignedBody bounds what a guard reads to hash the payload; larger bodies are
// refused before reaching the API (whose own limit is lower).
const maxSignedBody = 8 << 20

// sources maps each service principal to the event sources its role may put, as the
// events:source condition does on AWS. The developer may put any source.
var sources = map[string][]string{
	Concerts:    {"concerts"},
	Projections: {"projections"},
}

// MayPutSource reports whether principal may PutEvents with source.
func MayPutSource(principal, source string) bool {
	return principal == Developer || slices.Contains(sources[principal], source)
}

// Guard wraps devstack's /_aws endpoints with signature checks and policies.
type Guard struct {
	Store *Store
	// Now is the clock for the X-Amz-Date check; time.Now if nil.
	Now func() time.Time
}

func (g Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// errTooLarge is a body the guard will not read whole to hash.
var errTooLarge = fmt.Errorf("request body exceeds %d bytes", maxSignedBody)

// authenticate reads the body (restoring it for next) and verifies the signature.
func (g Guard) authenticate(r *http.Request) (Credentials, []byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSignedBody+1))
	if err != nil {
		return Credentials{}, nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxSignedBody {
		return Credentials{}, nil, errTooLarge
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	c, err := g.Store.Verify(r, body, g.now())
	return c, body, err
}

// Events guards the EventBridge endpoint (mounted at /_aws/events and below):
//   - AWS API calls need a valid signature; PutEvents is allowed to the developer
//     for any source and to a service for its own sources only (one entry with a
//     foreign source denies the whole call, as an IAM condition does);
//     TestEventPattern, which reads and changes nothing, also to unsigned callers
//     from a loopback address; any other operation only to the developer.
//     Refusals are JSON 1.1 AccessDeniedException (HTTP 400, __type).
//   - the developer endpoints (tail, dead-letters, stats) need the developer's
//     signature; refusals are 403 application/problem+json.
func (g Guard) Events(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if devEndpoint(r.URL.Path) {
			c, _, err := g.authenticate(r)
			if err == nil && c.Principal != Developer {
				err = fmt.Errorf("principal %s may not use the developer endpoints", c.Principal)
			}
			if err != nil {
				writeProblem(w, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		op := r.Header.Get("X-Amz-Target")
		if op == opTestEventPattern && r.Header.Get("Authorization") == "" && loopbackRemote(r.RemoteAddr) {
			next.ServeHTTP(w, r)
			return
		}
		c, body, err := g.authenticate(r)
		if err == nil {
			err = eventsPolicy(c.Principal, op, body)
		}
		if err != nil {
			writeEventsDenied(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func eventsPolicy(principal, op string, body []byte) error {
	if op != opTestEventPattern {
		if ok, err := replayPolicyAllows(principal, op, body); ok {
			return err
		}
	}
	switch {
	case principal == Developer, op == opTestEventPattern:
		return nil
	case op == opPutEvents:
		if _, ok := sources[principal]; !ok {
			return fmt.Errorf("principal %s is not authorized to perform events:PutEvents", principal)
		}
		var in struct{ Entries []struct{ Source *string } }
		if err := json.Unmarshal(body, &in); err != nil {
			return nil // not IAM's business: the API answers the malformed body
		}
		for _, e := range in.Entries {
			src := ""
			if e.Source != nil {
				src = *e.Source
			}
			if !MayPutSource(principal, src) {
				return fmt.Errorf("principal %s is not authorized to perform events:PutEvents with events:source %q", principal, src)
			}
		}
		return nil
	case op == opStartReplay || op == opDescribeReplay:
		prefix, ok := replayPrefixes[principal]
		var in struct{ ReplayName *string }
		if ok && json.Unmarshal(body, &in) == nil && in.ReplayName != nil && strings.HasPrefix(*in.ReplayName, prefix) {
			return nil
		}
	}
	return fmt.Errorf("principal %s is not authorized to perform %s", principal, op)
}

// Management guards the API Gateway management API (/_aws/ws): the notifications
// service and the developer only. Refusals are 403 with X-Amzn-ErrorType
// AccessDeniedException.
func (g Guard) Management(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := g.authenticate(r)
		if err == nil && c.Principal != Notifications && c.Principal != Developer {
			err = fmt.Errorf("principal %s is not authorized to perform execute-api:ManageConnections", c.Principal)
		}
		if err != nil {
			status, typ := http.StatusForbidden, "AccessDeniedException"
			if errors.Is(err, errTooLarge) {
				status, typ = http.StatusRequestEntityTooLarge, "PayloadTooLargeException"
			}
			body, _ := json.Marshal(map[string]string{"message": err.Error()})
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", typ)
			w.WriteHeader(status)
			_, _ = w.Write(body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SQS guards devstack's SQS endpoint (/_aws/sqs): the developer only (the services
// reach their queues in-process, as their roles reach theirs on AWS). Refusals are
// the JSON protocol's AccessDeniedException (HTTP 403, __type).
func (g Guard) SQS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := g.authenticate(r)
		if err == nil && c.Principal != Developer {
			err = fmt.Errorf("principal %s is not authorized to perform %s", c.Principal, r.Header.Get("X-Amz-Target"))
		}
		if err != nil {
			body, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.sqs#AccessDeniedException", "message": err.Error()})
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.Header().Set("x-amzn-query-error", "AccessDenied;Sender")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write(body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func devEndpoint(path string) bool {
	p := strings.TrimSuffix(path, "/")
	for _, suffix := range []string{"/tail", "/dead-letters", "/dead-letters/redrive", "/stats"} {
		if strings.HasSuffix(p, suffix) {
			return true
		}
	}
	return false
}

func writeEventsDenied(w http.ResponseWriter, err error) {
	status, typ := http.StatusBadRequest, "AccessDeniedException"
	if errors.Is(err, errTooLarge) {
		status, typ = http.StatusRequestEntityTooLarge, "ValidationException"
	}
	body, _ := json.Marshal(map[string]string{"__type": typ, "message": err.Error()})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeProblem(w http.ResponseWriter, err error) {
	status := http.StatusForbidden
	if errors.Is(err, errTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	body, _ := json.Marshal(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status,
		"detail": "sign with the developer credentials (devstack credentials): " + err.Error(),
	})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func loopbackRemote(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
