package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/concertsys/services/notifications/internal/domain"
)

// Fan-out defaults.
const (
	DefaultFanOutConcurrency = 16
	// DefaultDeliveryLease must outlast one post attempt (DefaultPostTimeout) so a
	// claim is never taken over while its post may still succeed.
	DefaultDeliveryLease = 30 * time.Second
	DefaultPostTimeout   = 10 * time.Second
)

// errInFlight marks a connection whose earlier version is still being posted.
var errInFlight = errors.New("earlier version in flight")

// FanOut posts a concert's new view to every connection subscribed to the concert or
// to "*". Each version reaches a connection at most once and versions per concert
// per connection only increase: a delivery is claimed in the store before it is
// posted. It returns an error when some connection must be retried; a retry (the
// same event delivered again by EventBridge) skips every connection already served.
type FanOut struct {
	store       Store
	poster      Poster
	logger      *slog.Logger
	now         func() time.Time
	ttl         time.Duration
	concurrency int
	lease       time.Duration
	postTimeout time.Duration
	batches     BatchQueue
	perBatch    int
	lanes       deliveryLanes
}

// FanOutOptions tune a FanOut.
type FanOutOptions struct {
	// TTL is how long delivery marks live (as long as a connection's rows).
	TTL time.Duration
	// Concurrency bounds the concurrent posts of one event.
	Concurrency int
	// Lease is how long a claim stays another caller's; it must outlast PostTimeout.
	Lease time.Duration
	// PostTimeout bounds one post.
	PostTimeout time.Duration
	// Batches, when set, is the fan-out queue: Handle splits more subscribers than
	// fit in one batch into batches there instead of posting itself (PostBatch posts
	// each); one batch's worth it posts itself.
	Batches BatchQueue
	// BatchConnections is the most connections per batch (default and most
	// domain.MaxBatchConnections).
	BatchConnections int
}

// NewFanOut fans views out to the subscribers in store with poster.
func NewFanOut(store Store, poster Poster, logger *slog.Logger, now func() time.Time, opts FanOutOptions) *FanOut {
	perBatch := opts.BatchConnections
	if perBatch <= 0 {
		perBatch = domain.MaxBatchConnections
	}
	return &FanOut{perBatch: perBatch,
		store: store, poster: poster, logger: logger, now: now, ttl: opts.TTL,
		concurrency: opts.Concurrency, lease: opts.Lease, postTimeout: opts.PostTimeout, batches: opts.Batches,
	}
}

// FanOutStats counts what one Handle did, per connection.
type FanOutStats struct {
	Sent, Skipped, Gone, Failed int
	// Queued counts the connections handed to the fan-out queue in batches.
	Queued int
}

// Handle fans u out.
func (f *FanOut) Handle(ctx context.Context, u domain.ConcertViewUpdated) (FanOutStats, error) {
	msg, omitted, err := domain.ConcertViewUpdatedMessage(u)
	if err != nil {
		return FanOutStats{}, err
	}
	if omitted {
		f.logger.WarnContext(ctx, "view too large for a WebSocket message; sending it without the view",
			"concertId", u.ConcertID, "version", u.Version, "viewBytes", len(u.View))
	}
	now := f.now()
	targets, err := f.targets(ctx, u.ConcertID, now)
	if err != nil {
		return FanOutStats{}, err
	}
	// An audience that fits in one batch is posted here: through the queue it would
	// be the same one batch, retried alone the same way (this event is), one queue
	// hop and one invocation later.
	if f.batches != nil && len(targets) > f.perBatch {
		return f.split(ctx, u, msg, targets)
	}
	return f.post(ctx, u, msg, targets)
}

// post posts msg (u's) to targets, DefaultFanOutConcurrency at a time.
func (f *FanOut) post(ctx context.Context, u domain.ConcertViewUpdated, msg []byte, targets []string) (FanOutStats, error) {
	var (
		mu    sync.Mutex
		stats FanOutStats
		errs  []error
		wg    sync.WaitGroup
	)
	one := func(conn string) {
		outcome, err := f.deliver(ctx, Delivery{ConnectionID: conn, ConcertID: u.ConcertID, Version: u.Version}, msg)
		mu.Lock()
		defer mu.Unlock()
		switch outcome {
		case sent:
			stats.Sent++
		case skipped:
			stats.Skipped++
		case gone:
			stats.Gone++
		}
		if err != nil {
			stats.Failed++
			errs = append(errs, err)
		}
	}
	sem := make(chan struct{}, max(f.concurrency, 1))
	for i, conn := range targets {
		sem <- struct{}{}
		if i == len(targets)-1 {
			// The last on this goroutine: one subscriber, the usual case, starts none.
			one(conn)
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			one(conn)
		}()
	}
	wg.Wait()
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("concertsys.ws.subscribers", len(targets)),
		attribute.Int("concertsys.ws.sent", stats.Sent), attribute.Int("concertsys.ws.skipped", stats.Skipped),
		attribute.Int("concertsys.ws.gone", stats.Gone), attribute.Int("concertsys.ws.failed", stats.Failed))
	f.logger.InfoContext(ctx, "fan-out done", "concertId", u.ConcertID, "version", u.Version, "eventId", u.EventID,
		"subscribers", len(targets), "sent", stats.Sent, "skipped", stats.Skipped, "gone", stats.Gone, "failed", stats.Failed)
	if len(errs) > 0 {
		return stats, fmt.Errorf("fan-out %s v%d: %d of %d connections to retry: %w",
			u.ConcertID, u.Version, len(errs), len(targets), errors.Join(errs...))
	}
	return stats, nil
}

// targets is the union of the concert's and "*"'s subscribers: a connection with
// both subscriptions is served once.
func (f *FanOut) targets(ctx context.Context, concertID string, now time.Time) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, id := range []string{concertID, domain.AllConcerts} {
		conns, err := f.store.Subscribers(ctx, id, now)
		if err != nil {
			return nil, fmt.Errorf("subscribers of %s: %w", id, err)
		}
		for _, c := range conns {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

type outcome int

const (
	failed outcome = iota
	sent
	skipped
	gone
)

// inFlightWaits are the pauses before claiming again a connection whose earlier
// version is being posted (by a concurrent fan-out or batch, which takes a few ms):
// waiting here is far cheaper than failing the batch, which the queue would only
// deliver again after its visibility timeout.
var inFlightWaits = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 160 * time.Millisecond, 320 * time.Millisecond}

func (f *FanOut) deliver(ctx context.Context, d Delivery, msg []byte) (outcome, error) {
	switch err := f.lanes.acquire(ctx, d); {
	case errors.Is(err, errSupersededLocally):
		return skipped, nil
	case err != nil:
		return failed, fmt.Errorf("connection %s: %w", d.ConnectionID, err)
	}
	defer f.lanes.release(d)
	var claim Claim
	for attempt := 0; ; attempt++ {
		now := f.now()
		var err error
		claim, err = f.store.ClaimDelivery(ctx, d, now, now.Add(f.lease), now.Add(f.ttl))
		if err != nil {
			return failed, fmt.Errorf("claim %s v%d for %s: %w", d.ConcertID, d.Version, d.ConnectionID, err)
		}
		if claim.Outcome == Superseded {
			return skipped, nil
		}
		if claim.Outcome != InFlight {
			break
		}
		if attempt == len(inFlightWaits) {
			return failed, fmt.Errorf("connection %s: %w", d.ConnectionID, errInFlight)
		}
		select {
		case <-ctx.Done():
			return failed, fmt.Errorf("connection %s: %w", d.ConnectionID, errInFlight)
		case <-time.After(inFlightWaits[attempt]):
		}
	}

	postCtx, cancel := context.WithTimeout(ctx, f.postTimeout)
	err := f.poster.Post(postCtx, d.ConnectionID, msg)
	cancel()
	switch {
	case err == nil:
		if err := f.store.ConfirmDelivery(ctx, d, claim); err != nil {
			// The post happened; an unconfirmed claim only delays the next version
			// until its lease ends, so this is not worth a retry.
			f.logger.WarnContext(ctx, "confirm delivery", "connectionId", d.ConnectionID, "concertId", d.ConcertID, "version", d.Version, "err", err)
		}
		return sent, nil
	case errors.Is(err, ErrGone):
		if err := f.store.DeleteConnection(ctx, d.ConnectionID); err != nil {
			return failed, fmt.Errorf("delete gone connection %s: %w", d.ConnectionID, err)
		}
		return gone, nil
	case errors.Is(err, ErrPayloadTooLarge):
		// Resending the same bytes cannot succeed; keep the claim so it is not tried again.
		f.logger.ErrorContext(ctx, "message refused as too large", "connectionId", d.ConnectionID, "concertId", d.ConcertID, "version", d.Version, "bytes", len(msg))
		if err := f.store.ConfirmDelivery(ctx, d, claim); err != nil {
			f.logger.WarnContext(ctx, "confirm delivery", "connectionId", d.ConnectionID, "err", err)
		}
		return skipped, nil
	default:
		if rerr := f.store.ReleaseDelivery(ctx, d, claim); rerr != nil {
			// The claim stays until its lease ends; a retry then sees this version
			// as claimed and skips it: at most once wins over at least once.
			f.logger.ErrorContext(ctx, "release delivery after failed post; this version is lost for the connection",
				"connectionId", d.ConnectionID, "concertId", d.ConcertID, "version", d.Version, "err", rerr)
		}
		return failed, fmt.Errorf("post %s v%d to %s: %w", d.ConcertID, d.Version, d.ConnectionID, err)
	}
}
