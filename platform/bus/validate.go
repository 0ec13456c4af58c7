package bus

import "fmt"

// Validate checks a subscription the way Subscribe (and EventBridge's PutRule) would:
// a name and a valid event pattern. Services call it in tests of their declared
// subscriptions so a bad pattern fails before devstack or CDK sees it.
func (s Subscription) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("%w: name is empty", ErrInvalidRule)
	}
	if _, err := compilePattern(s.Pattern); err != nil {
		return fmt.Errorf("%w: rule %s: pattern: %w", ErrInvalidRule, s.Name, err)
	}
	if s.MaxAttempts < 0 || s.MaxEventAge < 0 {
		return fmt.Errorf("%w: rule %s: negative retry policy", ErrInvalidRule, s.Name)
	}
	return nil
}
