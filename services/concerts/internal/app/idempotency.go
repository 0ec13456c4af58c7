package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/concertsys/platform/eventlog"
)

// IdempotencyState is the life cycle of an idempotency record.
type IdempotencyState string

const (
	// InProgress: a request holds the key's lease and is running.
	InProgress IdempotencyState = "in-progress"
	// Completed: the response is stored and is replayed for the same request.
	Completed IdempotencyState = "completed"
)

// StoredResponse is the response replayed for a repeated request.
type StoredResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body"`
}

// IdempotencyRecord is what the store keeps per Idempotency-Key.
type IdempotencyRecord struct {
	Key         string
	Fingerprint string // hash of the request (route, concert, If-Match, body): same key, other request = 422
	AggregateID string // the concert the request writes to (chosen before running a create)
	State       IdempotencyState
	Token       string    // the lease holder; conditional writes compare it
	ClaimedAt   time.Time // when the first claim was made
	LeaseUntil  time.Time // an in-progress claim older than this was abandoned
	ExpiresAt   time.Time // after this the record is gone (the store's TTL)
	Response    StoredResponse
}

// IdempotencyStore keeps idempotency records with conditional writes, so that two
// concurrent requests with one key cannot both claim it.
type IdempotencyStore interface {
	// Create stores rec unless a record with its key exists (ErrRecordExists).
	Create(ctx context.Context, rec IdempotencyRecord) error
	// Get returns the record of key, or ErrRecordNotFound. A store may still return
	// records past ExpiresAt (DynamoDB's TTL deletes lazily); callers check.
	Get(ctx context.Context, key string) (IdempotencyRecord, error)
	// Replace overwrites the record of rec.Key if its stored Token is token, else
	// ErrTokenMismatch (also when there is no record).
	Replace(ctx context.Context, rec IdempotencyRecord, token string) error
	// Delete removes the record of key if its Token is token, else ErrTokenMismatch.
	Delete(ctx context.Context, key, token string) error
}

// Errors of IdempotencyStore implementations.
var (
	ErrRecordExists   = errors.New("idempotency record exists")
	ErrRecordNotFound = errors.New("idempotency record not found")
	ErrTokenMismatch  = errors.New("idempotency record held by another token")
)

// Errors of Idempotent.
var (
	// ErrKeyReused: the key was used for a different request (422).
	ErrKeyReused = errors.New("idempotency key reused for a different request")
	// ErrInProgress: a request with the key is running right now (409).
	ErrInProgress = errors.New("a request with this idempotency key is in progress")
)

// IdempotentRequest identifies a request that may be repeated.
type IdempotentRequest struct {
	Key         string
	Fingerprint string
	AggregateID string
}

// RunFunc executes a request once its key is claimed. A nil error means resp is
// final and is stored for replay; an error releases the key (a 5xx or a retryable
// conflict: the client should be able to try again).
type RunFunc func(ctx context.Context, aggregateID string) (StoredResponse, error)

// RebuildFunc makes the response of a request whose events are in the log but whose
// response was never stored (its process died in between).
type RebuildFunc func(aggregateID string, version int64) StoredResponse

// causationSkew tolerates clock differences between the process that claimed a key
// and the one that wrote its events.
const causationSkew = time.Minute

// Idempotent runs a request at most once per key. A repeat of a completed request
// gets the stored response (replayed = true) and appends nothing. A repeat while the
// first still runs gets ErrInProgress. A claim whose lease expired (its process died)
// is taken over: if the log already holds events caused by the key, the response is
// rebuilt from them instead of running the command again.
func (a *App) Idempotent(ctx context.Context, req IdempotentRequest, run RunFunc, rebuild RebuildFunc) (resp StoredResponse, replayed bool, err error) {
	store := a.cfg.Idempotency
	for range 3 {
		now := a.cfg.Now()
		rec := IdempotencyRecord{
			Key: req.Key, Fingerprint: req.Fingerprint, AggregateID: req.AggregateID, State: InProgress,
			Token: a.cfg.NewID(), ClaimedAt: now, LeaseUntil: now.Add(a.cfg.Lease), ExpiresAt: now.Add(a.cfg.Retention),
		}
		err := store.Create(ctx, rec)
		if err == nil {
			resp, err := a.runClaimed(ctx, rec, run)
			return resp, false, err
		}
		if !errors.Is(err, ErrRecordExists) {
			return StoredResponse{}, false, fmt.Errorf("claim idempotency key: %w", err)
		}
		prev, err := store.Get(ctx, req.Key)
		if errors.Is(err, ErrRecordNotFound) {
			continue // released meanwhile: claim again
		}
		if err != nil {
			return StoredResponse{}, false, fmt.Errorf("read idempotency key: %w", err)
		}
		if !now.Before(prev.ExpiresAt) {
			// Retention is over (the TTL has not deleted it yet): a new request.
			if err := store.Replace(ctx, rec, prev.Token); err != nil {
				if errors.Is(err, ErrTokenMismatch) {
					continue
				}
				return StoredResponse{}, false, fmt.Errorf("claim expired idempotency key: %w", err)
			}
			resp, err := a.runClaimed(ctx, rec, run)
			return resp, false, err
		}
		if prev.Fingerprint != req.Fingerprint {
			return StoredResponse{}, false, ErrKeyReused
		}
		if prev.State == Completed {
			return prev.Response, true, nil
		}
		if now.Before(prev.LeaseUntil) {
			return StoredResponse{}, false, ErrInProgress
		}
		// The claimant died. Take over its claim (keeping its concert and claim time,
		// which is what its events would carry), then finish its work.
		rec.AggregateID, rec.ClaimedAt, rec.ExpiresAt = prev.AggregateID, prev.ClaimedAt, prev.ExpiresAt
		if err := store.Replace(ctx, rec, prev.Token); err != nil {
			if errors.Is(err, ErrTokenMismatch) {
				continue // another retry took it over first
			}
			return StoredResponse{}, false, fmt.Errorf("take over idempotency key: %w", err)
		}
		caused, err := a.causedBy(ctx, rec.AggregateID, rec.Key, rec.ClaimedAt.Add(-causationSkew))
		if err != nil {
			a.release(ctx, rec)
			return StoredResponse{}, false, err
		}
		if len(caused) > 0 {
			resp := rebuild(rec.AggregateID, caused[len(caused)-1].Version)
			a.complete(ctx, rec, resp)
			return resp, false, nil
		}
		resp, err := a.runClaimed(ctx, rec, run)
		return resp, false, err
	}
	return StoredResponse{}, false, ErrInProgress
}

func (a *App) runClaimed(ctx context.Context, rec IdempotencyRecord, run RunFunc) (StoredResponse, error) {
	resp, err := run(ctx, rec.AggregateID)
	if err != nil {
		a.release(ctx, rec)
		return StoredResponse{}, err
	}
	a.complete(ctx, rec, resp)
	return resp, nil
}

// complete stores the response. Failing to is logged, not returned: the events are
// durable, and a retry after the lease rebuilds the response from them.
func (a *App) complete(ctx context.Context, rec IdempotencyRecord, resp StoredResponse) {
	done := rec
	done.State, done.Response = Completed, resp
	done.ExpiresAt = a.cfg.Now().Add(a.cfg.Retention)
	if err := a.cfg.Idempotency.Replace(ctx, done, rec.Token); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "store idempotent response", "key", rec.Key, "error", err)
	}
}

// release frees the key so the client can retry; if it fails the lease runs out.
func (a *App) release(ctx context.Context, rec IdempotencyRecord) {
	if err := a.cfg.Idempotency.Delete(ctx, rec.Key, rec.Token); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "release idempotency key", "key", rec.Key, "error", err)
	}
}

// causedBy returns the events of the concert caused by causationID, created at or
// after since (a key reused after its retention must not match old events).
func (a *App) causedBy(ctx context.Context, id, causationID string, since time.Time) ([]eventlog.Event, error) {
	evs, err := a.cfg.Log.Load(ctx, id)
	if errors.Is(err, eventlog.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for events caused by %s in concert %s: %w", causationID, id, err)
	}
	var out []eventlog.Event
	for _, e := range evs {
		if e.CausationID == causationID && !e.OccurredAt.Before(since) {
			out = append(out, e)
		}
	}
	return out, nil
}
