package backoff_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/concertsys/platform/backoff"
)

// A throttled call is retried with growing, jittered waits until it succeeds.
func ExamplePolicy_Retry() {
	errThrottled := errors.New("throttled")
	calls := 0
	err := backoff.Policy{Base: time.Millisecond, Max: 10 * time.Millisecond}.Retry(context.Background(), 5,
		func(err error) bool { return errors.Is(err, errThrottled) },
		func(context.Context) error {
			if calls++; calls < 3 {
				return errThrottled
			}
			return nil
		})
	fmt.Println(calls, err)
	// Output: 3 <nil>
}
