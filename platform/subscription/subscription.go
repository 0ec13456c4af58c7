// Package subscription is the contract between a subscribing service and the bus:
// the rule a service declares once, in Go, and the Lambda target behind it. devstack
// routes with it and the service's CDK stack deploys a rule from it.
package subscription

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Subscription is a rule on the bus as a subscribing service declares it, once, in Go.
// devstack routes with it and the service's CDK stack deploys a rule from it, so the
// pattern is the same in both places.
type Subscription struct {
	// Name is the rule name, unique on the bus (e.g. "projections-concert-events").
	Name string
	// Pattern is an EventBridge event pattern (JSON object).
	Pattern json.RawMessage
	// MaxAttempts bounds deliveries before the event goes to the dead-letter store
	// (EventBridge's retry policy MaximumRetryAttempts+1). Zero means DefaultMaxAttempts.
	MaxAttempts int
	// MaxEventAge drops to dead-letter after this age (EventBridge's
	// MaximumEventAgeInSeconds). Zero means DefaultMaxEventAge.
	MaxEventAge time.Duration
}

// Defaults of the retry policy, used by devstack and by the CDK stacks.
const (
	DefaultMaxAttempts = 8
	DefaultMaxEventAge = time.Hour
)

// Target is a rule target: a Lambda handler taking the EventBridge event as AWS sends it.
type Target func(ctx context.Context, event events.EventBridgeEvent) error
