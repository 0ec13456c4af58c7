// Package app holds the notification service's use cases: recording connections,
// subscribing and unsubscribing them, and fanning read-model changes out to them.
package app

import (
	"context"
	"errors"
	"time"
)

// ErrConnectionNotFound means the connection is not (or no longer) recorded.
var ErrConnectionNotFound = errors.New("connection not found")

// ErrGone means API Gateway no longer knows the connection (GoneException, 410).
var ErrGone = errors.New("connection gone")

// ErrPayloadTooLarge means API Gateway refused the message size; resending cannot help.
var ErrPayloadTooLarge = errors.New("payload too large")

// Connection is one open WebSocket connection.
type Connection struct {
	ID          string
	ConnectedAt time.Time
	// ExpiresAt is when the store may forget the connection and everything about it
	// even without a $disconnect (which API Gateway does not guarantee).
	ExpiresAt time.Time
}

// Delivery is one version of one concert to one connection.
type Delivery struct {
	ConnectionID string
	ConcertID    string
	Version      int64
}

// ClaimOutcome says whether a delivery may be posted.
type ClaimOutcome int

const (
	// Claimed: this caller owns the delivery and must post, then Confirm or Release.
	Claimed ClaimOutcome = iota + 1
	// Superseded: this version or a later one was already claimed for the connection;
	// posting would repeat a version or go backwards.
	Superseded
	// InFlight: an earlier version is being posted by another caller right now;
	// retry later so versions arrive in order.
	InFlight
)

func (o ClaimOutcome) String() string {
	switch o {
	case Claimed:
		return "claimed"
	case Superseded:
		return "superseded"
	case InFlight:
		return "in-flight"
	default:
		return "unknown"
	}
}

// Claim is the result of ClaimDelivery.
type Claim struct {
	Outcome ClaimOutcome
	// Previous is the version claimed before (0 if none); Release restores it.
	Previous int64
	// LeaseUntil identifies this claim until it is confirmed or released.
	LeaseUntil time.Time
}

// Store keeps connections, their subscriptions and the last version each connection
// was sent per concert. Adapters: DynamoDB (AWS) and bbolt (devstack).
type Store interface {
	// PutConnection records (or re-records) a connection.
	PutConnection(ctx context.Context, c Connection) error
	// DeleteConnection forgets a connection with its subscriptions and delivery
	// marks. Deleting an unknown connection is not an error.
	DeleteConnection(ctx context.Context, connectionID string) error
	// Subscribe adds a subscription of a recorded connection to a concert id (a concert
	// id or "*"); ErrConnectionNotFound if the connection is not recorded.
	// Subscribing twice is not an error.
	Subscribe(ctx context.Context, connectionID, concertID string, expiresAt time.Time) error
	// Unsubscribe removes a subscription; removing an absent one is not an error.
	Unsubscribe(ctx context.Context, connectionID, concertID string) error
	// Subscriptions lists the concert ids (or "*") a connection is subscribed to, that have not expired at now.
	Subscriptions(ctx context.Context, connectionID string, now time.Time) ([]string, error)
	// Subscribers lists the connections subscribed to a concert id (or "*"), unexpired at now.
	Subscribers(ctx context.Context, concertID string, now time.Time) ([]string, error)
	// ClaimDelivery atomically records d.Version as the connection's latest version
	// of the concert, unless it has that version or a later one (Superseded) or
	// another claim's lease has not ended at now (InFlight).
	ClaimDelivery(ctx context.Context, d Delivery, now, leaseUntil, expiresAt time.Time) (Claim, error)
	// ConfirmDelivery ends the lease of a posted claim.
	ConfirmDelivery(ctx context.Context, d Delivery, c Claim) error
	// ReleaseDelivery undoes a claim whose post failed, so a retry can post it.
	ReleaseDelivery(ctx context.Context, d Delivery, c Claim) error
}

// Poster sends a message to one connection (API Gateway's PostToConnection).
// It returns ErrGone for a connection API Gateway no longer has.
type Poster interface {
	Post(ctx context.Context, connectionID string, data []byte) error
}
