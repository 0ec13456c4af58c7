// Package lambdainvoke runs a Lambda handler the way the Lambda service does: the
// event goes in as JSON and the result comes out as JSON through aws-lambda-go, with a
// Lambda context, a timeout, and a panic failing only that invocation. devstack's
// emulators (HTTP and WebSocket gateways, the pipe) invoke every function through it,
// so handlers see exactly the payloads they get on AWS.
package lambdainvoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/concertsys/tools/local/faults"
)

// ErrTimeout is returned when an invocation outlives its timeout, like a Lambda
// "Task timed out". The handler goroutine is left to finish on its own.
var ErrTimeout = errors.New("lambda invocation timed out")

// Function is one Lambda function with its pool of warm execution environments.
type Function struct {
	name    string
	arn     string
	timeout time.Duration
	// Each lambda.Handler serves one invocation at a time, like an execution
	// environment: aws-lambda-go's Invoke returns bytes aliasing a buffer the handler
	// reuses, so concurrent invocations of one handler would corrupt each other.
	instances sync.Pool
	// faults fails some invocations on purpose (devstack -faults); nil: none.
	faults *faults.Injector
}

// New wraps handler (any signature lambda.Start accepts) as a function named name.
func New(name, arn string, handler any, timeout time.Duration) *Function {
	f := &Function{name: name, arn: arn, timeout: timeout}
	f.instances.New = func() any { return lambda.NewHandler(handler) }
	return f
}

// WithFaults makes the injector fail some invocations of f: before the handler runs
// (invoke) or after it ran to completion (after), as an invocation can fail on AWS
// on either side of the handler. It returns f.
func (f *Function) WithFaults(in *faults.Injector) *Function {
	f.faults = in
	return f
}

// ARN is the function ARN the Lambda service would give the function.
func ARN(region, account, name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
}

// Name is the function's name.
func (f *Function) Name() string { return f.name }

// Invoke runs the function on a JSON payload and returns its JSON result. Cancelling
// ctx abandons the invocation (callers that must let accepted work finish pass
// context.WithoutCancel). A handler error or panic is returned as an error.
func (f *Function) Invoke(ctx context.Context, requestID string, payload []byte) ([]byte, error) {
	if err := f.faults.FailInvoke(f.name); err != nil {
		return nil, err
	}
	out, err := f.invoke(ctx, requestID, payload)
	if err == nil {
		if err := f.faults.FailAfter(f.name); err != nil {
			return nil, err
		}
	}
	return out, err
}

func (f *Function) invoke(ctx context.Context, requestID string, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID, InvokedFunctionArn: f.arn})
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("function %s panicked: %v", f.name, p)}
			}
		}()
		h := f.instances.Get().(lambda.Handler)
		out, err := h.Invoke(ctx, payload)
		out = bytes.Clone(out) // before h, and the buffer behind out, serve another call
		f.instances.Put(h)
		done <- result{out, err}
	}()
	select {
	case res := <-done:
		return res.out, res.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("function %s after %s: %w", f.name, f.timeout, ErrTimeout)
		}
		return nil, ctx.Err()
	}
}
