package ports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/httpapi"

	"github.com/concertsys/services/concerts/internal/app"
)

// Defaults of the idempotency decorator.
const (
	// DefaultLease is how long an in-progress claim blocks duplicates; it must exceed
	// the function timeout, since an expired claim is taken over.
	DefaultLease = 2 * time.Minute
	// DefaultRetention is how long a stored response is replayed.
	DefaultRetention = 24 * time.Hour
	// MaxIdempotencyKeyLen bounds the Idempotency-Key header.
	MaxIdempotencyKeyLen = 255
)

// Errors of the idempotency decorator.
var (
	// ErrKeyReused: the key was used for a different request (422).
	ErrKeyReused = errors.New("idempotency key reused for a different request")
	// ErrInProgress: a request with the key is running right now (409).
	ErrInProgress = errors.New("a request with this idempotency key is in progress")
)

// causationSkew tolerates clock differences between the process that claimed a key
// and the one that wrote its events.
const causationSkew = time.Minute

// cleanupTimeout bounds storing or releasing a claim after the request's own context
// is gone.
const cleanupTimeout = 5 * time.Second

// Idempotency is the HTTP decorator of the write routes: it owns the Idempotency-Key
// header and runs a request at most once per key. A repeat of a completed request gets
// the stored status, headers and body and appends nothing; a repeat while the first
// still runs gets 409; the key with another request 422. A claim whose lease expired
// (its process died) is taken over: if the log already holds events caused by the
// key, the response is rebuilt from them instead of running the command again.
type Idempotency struct {
	store      IdempotencyStore
	findCaused *app.FindCaused
	now        func() time.Time
	newID      func() string
	logger     *slog.Logger
	lease      time.Duration
	retention  time.Duration
}

// NewIdempotency builds the decorator over store, with DefaultLease and
// DefaultRetention.
func NewIdempotency(store IdempotencyStore, findCaused *app.FindCaused, now func() time.Time, newID func() string, logger *slog.Logger) *Idempotency {
	if logger == nil {
		logger = slog.Default()
	}
	return &Idempotency{store: store, findCaused: findCaused, now: now, newID: newID, logger: logger,
		lease: DefaultLease, retention: DefaultRetention}
}

// step answers a decoded write. A response is the request's answer for good (stored
// for replay); an error is a failure the client should retry (the key is released),
// answered with its problem by the handler.
type step func(ctx context.Context, req events.APIGatewayV2HTTPRequest, w write) (events.APIGatewayV2HTTPResponse, error)

// Wrap decorates next with the Idempotency-Key protocol; requests without the header
// go straight to next.
func (i *Idempotency) Wrap(next step) step {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest, w write) (events.APIGatewayV2HTTPResponse, error) {
		return i.serve(ctx, req, w, next)
	}
}

func (i *Idempotency) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest, w write, next step) (events.APIGatewayV2HTTPResponse, error) {
	key, err := idempotencyKey(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if key == "" {
		return next(ctx, req, w)
	}
	w.causation = key
	body, _ := httpapi.Body(req) // the write decoded it, so the body is readable
	fp := fingerprint(w.route, req.PathParameters["id"], w.ifMatch, body)
	for range 3 {
		now := i.now()
		rec := IdempotencyRecord{
			Key: key, Fingerprint: fp, AggregateID: w.id, State: InProgress,
			Token: i.newID(), ClaimedAt: now, LeaseUntil: now.Add(i.lease), ExpiresAt: now.Add(i.retention),
		}
		err := i.store.Create(ctx, rec)
		if err == nil {
			return i.runClaimed(ctx, req, w, rec, next)
		}
		if !errors.Is(err, ErrRecordExists) {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("claim idempotency key: %w", err)
		}
		prev, err := i.store.Get(ctx, key)
		if errors.Is(err, ErrRecordNotFound) {
			continue // released meanwhile: claim again
		}
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("read idempotency key: %w", err)
		}
		resp, err := i.answerExisting(ctx, req, w, rec, prev, next)
		if !errors.Is(err, ErrTokenMismatch) {
			return resp, err
		}
		// Another request replaced prev first: look again.
	}
	return events.APIGatewayV2HTTPResponse{}, ErrInProgress
}

// answerExisting answers a request whose key has the record prev; rec is the claim
// it would make. ErrTokenMismatch means prev changed meanwhile.
func (i *Idempotency) answerExisting(ctx context.Context, req events.APIGatewayV2HTTPRequest, w write, rec, prev IdempotencyRecord, next step) (events.APIGatewayV2HTTPResponse, error) {
	if !rec.ClaimedAt.Before(prev.ExpiresAt) {
		// Retention is over (the TTL has not deleted it yet): a new request.
		if err := i.replace(ctx, rec, prev.Token, "claim expired idempotency key"); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return i.runClaimed(ctx, req, w, rec, next)
	}
	switch {
	case prev.Fingerprint != rec.Fingerprint:
		return events.APIGatewayV2HTTPResponse{}, ErrKeyReused
	case prev.State == Completed:
		return toResponse(prev.Response), nil
	case rec.ClaimedAt.Before(prev.LeaseUntil):
		return events.APIGatewayV2HTTPResponse{}, ErrInProgress
	}
	// The claimant died. Take over its claim (keeping its concert and claim time,
	// which is what its events would carry), then finish its work.
	rec.AggregateID, rec.ClaimedAt, rec.ExpiresAt = prev.AggregateID, prev.ClaimedAt, prev.ExpiresAt
	if err := i.replace(ctx, rec, prev.Token, "take over idempotency key"); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	caused, err := i.findCaused.Handle(ctx, app.FindCausedInput{ID: rec.AggregateID, CausationID: rec.Key, Since: rec.ClaimedAt.Add(-causationSkew)})
	if err != nil {
		i.release(ctx, rec)
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if !caused.Found {
		w.id = rec.AggregateID
		return i.runClaimed(ctx, req, w, rec, next)
	}
	resp := respond(w, app.Result{ID: rec.AggregateID, Version: caused.Version})
	i.complete(ctx, rec, resp)
	return resp, nil
}

// replace swaps prev's claim for rec; ErrTokenMismatch passes unwrapped.
func (i *Idempotency) replace(ctx context.Context, rec IdempotencyRecord, token, what string) error {
	err := i.store.Replace(ctx, rec, token)
	if err == nil || errors.Is(err, ErrTokenMismatch) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (i *Idempotency) runClaimed(ctx context.Context, req events.APIGatewayV2HTTPRequest, w write, rec IdempotencyRecord, next step) (events.APIGatewayV2HTTPResponse, error) {
	resp, err := next(ctx, req, w)
	if err != nil {
		i.release(ctx, rec)
		return events.APIGatewayV2HTTPResponse{}, err
	}
	i.complete(ctx, rec, resp)
	return resp, nil
}

// complete stores the response. Failing to is logged, not returned: the events are
// durable, and a retry after the lease rebuilds the response from them. It runs even
// when the request's context is cancelled.
func (i *Idempotency) complete(ctx context.Context, rec IdempotencyRecord, resp events.APIGatewayV2HTTPResponse) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	done := rec
	done.State, done.Response = Completed, StoredResponse{Status: resp.StatusCode, Headers: resp.Headers, Body: resp.Body}
	done.ExpiresAt = i.now().Add(i.retention)
	if err := i.store.Replace(ctx, done, rec.Token); err != nil {
		i.logger.ErrorContext(ctx, "store idempotent response", "key", rec.Key, "error", err)
	}
}

// release frees the key so the client can retry; if it fails the lease runs out. It
// runs even when the request's context is cancelled (the usual reason to release),
// or the key would stay blocked for the whole lease.
func (i *Idempotency) release(ctx context.Context, rec IdempotencyRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := i.store.Delete(ctx, rec.Key, rec.Token); err != nil {
		i.logger.ErrorContext(ctx, "release idempotency key", "key", rec.Key, "error", err)
	}
}

func idempotencyKey(req events.APIGatewayV2HTTPRequest) (string, error) {
	v, ok := httpapi.LookupHeader(req.Headers, "Idempotency-Key")
	if !ok {
		return "", nil
	}
	if !visibleASCII(v, MaxIdempotencyKeyLen) {
		return "", httpapi.NewProblem(http.StatusBadRequest,
			fmt.Sprintf("Idempotency-Key must be 1..%d visible ASCII characters", MaxIdempotencyKeyLen))
	}
	return v, nil
}

// fingerprint identifies a request for idempotency: same route, same concert, same
// precondition, same bytes. A retry with another If-Match is another request (422),
// not a replay of an answer to a precondition it did not send. Without If-Match (or
// with "*") the hash is what it was before If-Match counted, so stored keys still match.
func fingerprint(route, id string, ifMatch *int64, body []byte) string {
	h := sha256.New()
	h.Write([]byte(route + "\x00" + id + "\x00"))
	if ifMatch != nil {
		h.Write([]byte("if-match:" + strconv.FormatInt(*ifMatch, 10) + "\x00"))
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func toResponse(s StoredResponse) events.APIGatewayV2HTTPResponse {
	headers := make(map[string]string, len(s.Headers))
	for k, v := range s.Headers {
		headers[k] = v
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: s.Status, Headers: headers, Body: s.Body}
}
