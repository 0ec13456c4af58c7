package bus

import (
	"fmt"

	"github.com/concertsys/platform/subscription"
)

// ValidateSubscription checks a subscription the way Subscribe (and EventBridge's
// PutRule) would: a name and a valid event pattern. Services call it in tests of
// their declared subscriptions so a bad pattern fails before devstack or CDK sees it.
func ValidateSubscription(s subscription.Subscription) error {
	_, err := compileSubscription(s)
	return err
}

// compileSubscription validates the subscription and returns its compiled pattern.
func compileSubscription(s subscription.Subscription) (matcher, error) {
	if s.Name == "" {
		return nil, fmt.Errorf("%w: name is empty", ErrInvalidRule)
	}
	p, err := compilePattern(s.Pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: rule %s: pattern: %w", ErrInvalidRule, s.Name, err)
	}
	if s.MaxAttempts < 0 || s.MaxEventAge < 0 {
		return nil, fmt.Errorf("%w: rule %s: negative retry policy", ErrInvalidRule, s.Name)
	}
	return p, nil
}
