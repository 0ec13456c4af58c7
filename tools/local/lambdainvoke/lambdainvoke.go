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
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/concertsys/tools/local/faults"
)

// ErrTimeout is returned when an invocation outlives its timeout, like a Lambda
// "Task timed out". The handler goroutine is left to finish on its own.
var ErrTimeout = errors.New("lambda invocation timed out")

// Function is one Lambda function with its warm execution environments.
type Function struct {
	name    string
	arn     string
	timeout time.Duration
	handler any
	// work hands an invocation to an idle execution environment: a goroutine with
	// its own lambda.Handler, kept after its invocation for the next (a warm start),
	// as Lambda keeps an environment. A lambda.Handler serves one invocation at a
	// time (aws-lambda-go's Invoke returns bytes aliasing a buffer it reuses). A new
	// goroutine per invocation grew its stack through the same deep calls each time:
	// stack copying was 7 % of devstack's CPU.
	work chan *invocation
	// faults fails some invocations on purpose (devstack -faults); nil: none.
	faults *faults.Injector
	// started counts the environments started (cold starts), idle those waiting.
	started, idle atomic.Int64
}

// environmentIdle is how long an idle execution environment waits for its next
// invocation before it ends (Lambda keeps them longer; here it only saves the
// goroutine's stack growth, and a burst's environments should not linger).
const environmentIdle = 10 * time.Second

type invocation struct {
	ctx     context.Context
	payload []byte
	done    chan result // buffered: the environment never waits for an abandoned caller
}

type result struct {
	out []byte
	err error
}

// New wraps handler (any signature lambda.Start accepts) as a function named name.
func New(name, arn string, handler any, timeout time.Duration) *Function {
	return &Function{name: name, arn: arn, timeout: timeout, handler: handler, work: make(chan *invocation)}
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
	inv := &invocation{ctx: ctx, payload: payload, done: make(chan result, 1)}
	select {
	case f.work <- inv: // an idle environment took it
	default: // none idle: scale out, as Lambda starts another environment
		go f.environment(inv)
	}
	select {
	case res := <-inv.done:
		return res.out, res.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("function %s after %s: %w", f.name, f.timeout, ErrTimeout)
		}
		return nil, ctx.Err()
	}
}

// environment runs invocations, first and then whatever f.work hands it, until it
// has been idle for environmentIdle. After an invocation that panicked or outlived
// its caller (timed out or abandoned) it ends, as Lambda resets an environment after
// a crash or a timeout, and the next invocation starts a fresh one.
func (f *Function) environment(first *invocation) {
	f.started.Add(1)
	h := lambda.NewHandler(f.handler)
	idle := time.NewTimer(environmentIdle)
	defer idle.Stop()
	for inv := first; ; {
		if !f.run(h, inv) {
			return
		}
		inv = nil // an idle environment keeps no payload alive
		idle.Reset(environmentIdle)
		f.idle.Add(1)
		select {
		case inv = <-f.work:
			f.idle.Add(-1)
		case <-idle.C:
			f.idle.Add(-1)
			return
		}
	}
}

// run invokes h on inv and reports whether h may serve another invocation: it did
// not panic, and it returned before inv's caller stopped waiting (checked before the
// result is handed over, since the caller cancels inv.ctx once it has it).
func (f *Function) run(h lambda.Handler, inv *invocation) (reusable bool) {
	defer func() {
		if p := recover(); p != nil {
			inv.done <- result{err: fmt.Errorf("function %s panicked: %v", f.name, p)}
			reusable = false
		}
	}()
	out, err := h.Invoke(inv.ctx, inv.payload)
	reusable = inv.ctx.Err() == nil
	inv.done <- result{bytes.Clone(out), err} // out aliases h's buffer, which serves the next call
	return reusable
}
