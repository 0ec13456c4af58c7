package lambdainvoke_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/faults"
	"github.com/concertsys/tools/local/lambdainvoke"
)

type echo struct {
	N int `json:"n"`
}

func TestInvoke(t *testing.T) {
	tests := []struct {
		name    string
		handler any
		payload string
		timeout time.Duration
		want    string
		wantErr string
	}{
		{name: "json in and out", handler: func(ctx context.Context, e echo) (echo, error) { return echo{N: e.N + 1}, nil }, payload: `{"n":1}`, want: `{"n":2}`},
		{name: "handler error", handler: func(ctx context.Context, e echo) (echo, error) { return e, errors.New("boom") }, payload: `{}`, wantErr: "boom"},
		{name: "panic fails only the invocation", handler: func(ctx context.Context, e echo) (echo, error) { panic("bad") }, payload: `{}`, wantErr: "bad"},
		{name: "payload that does not decode", handler: func(ctx context.Context, e echo) (echo, error) { return e, nil }, payload: `[`, wantErr: "unexpected"},
		{name: "timeout", handler: func(ctx context.Context, e echo) (echo, error) { time.Sleep(200 * time.Millisecond); return e, nil }, payload: `{}`, timeout: 20 * time.Millisecond, wantErr: "timed out"},
		{name: "lambda context", handler: func(ctx context.Context) (string, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			return lc.AwsRequestID + " " + lc.InvokedFunctionArn, nil
		}, payload: `{}`, want: `"req-1 arn:aws:lambda:us-east-1:000000000000:function:fn"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = time.Second
			}
			f := lambdainvoke.New("fn", lambdainvoke.ARN("us-east-1", "000000000000", "fn"), tc.handler, timeout)
			got, err := f.Invoke(context.Background(), "req-1", []byte(tc.payload))
			if tc.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(got), "got %s, want %s", got, tc.want)
		})
	}
}

// Concurrent invocations of one function must each get their own result (aws-lambda-go
// reuses its response buffer per handler).
func TestConcurrentInvocationsKeepTheirResults(t *testing.T) {
	f := lambdainvoke.New("fn", "arn", func(ctx context.Context, e echo) (echo, error) { return e, nil }, time.Second)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				n := g*1000 + i
				out, err := f.Invoke(context.Background(), "r", []byte(fmt.Sprintf(`{"n":%d}`, n)))
				if err != nil {
					t.Errorf("invoke: %v", err)
					return
				}
				var got echo
				if err := json.Unmarshal(out, &got); err != nil || got.N != n {
					t.Errorf("got %s, want n=%d", out, n)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Emulators invoke handlers with the JSON the Lambda service would send.
func ExampleFunction_Invoke() {
	greet := func(ctx context.Context, in struct {
		Name string `json:"name"`
	}) (string, error) {
		return "hello " + in.Name, nil
	}
	f := lambdainvoke.New("greet", lambdainvoke.ARN("us-east-1", "000000000000", "greet"), greet, time.Second)
	out, err := f.Invoke(context.Background(), "req-1", []byte(`{"name":"Ada"}`))
	fmt.Println(string(out), err)
	// Output: "hello Ada" <nil>
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		spec       faults.Spec
		wantRan    bool
		wantErr    string
		wantCounts map[faults.Kind]uint64
	}{
		{name: "invoke: the handler never runs", spec: faults.Spec{Invoke: 1}, wantRan: false, wantErr: "(invoke)",
			wantCounts: map[faults.Kind]uint64{faults.Invoke: 1}},
		{name: "after: the handler ran, failure reported", spec: faults.Spec{After: 1}, wantRan: true, wantErr: "(after)",
			wantCounts: map[faults.Kind]uint64{faults.After: 1}},
		{name: "zero rates: nothing injected", spec: faults.Spec{}, wantRan: true, wantCounts: map[faults.Kind]uint64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			in := faults.New(tc.spec)
			f := lambdainvoke.New("fn", "arn", func(ctx context.Context, e echo) (echo, error) { ran = true; return e, nil }, time.Second).WithFaults(in)
			_, err := f.Invoke(context.Background(), "r", []byte(`{"n":1}`))
			require.Equal(t, tc.wantRan, ran, "handler ran: got %v want %v", ran, tc.wantRan)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, faults.ErrInjected)
				require.Contains(t, err.Error(), tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			for _, k := range faults.Kinds {
				require.Equal(t, tc.wantCounts[k], in.Counts()[k], "%s count", k)
			}
		})
	}
	t.Run("a handler error is not also counted as an after fault", func(t *testing.T) {
		in := faults.New(faults.Spec{After: 1})
		f := lambdainvoke.New("fn", "arn", func(ctx context.Context, e echo) (echo, error) { return e, errors.New("boom") }, time.Second).WithFaults(in)
		_, err := f.Invoke(context.Background(), "r", []byte(`{}`))
		require.ErrorContains(t, err, "boom")
		require.Zero(t, in.Counts()[faults.After])
	})
}

// Environments are reused between invocations (one cold start for sequential
// calls); after a panic or a timeout the next invocation gets a fresh one and
// succeeds, also while the stuck one still runs.
func TestEnvironmentsAreReusedUntilTheyFail(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	handler := func(ctx context.Context, e echo) (echo, error) {
		switch e.N {
		case -1:
			panic("bad")
		case -2:
			<-release // outlives its timeout
		}
		return echo{N: e.N}, nil
	}
	f := lambdainvoke.New("fn", "arn", handler, 50*time.Millisecond)
	tests := []struct {
		name           string
		n, times       int
		wantErr        string
		wantColdStarts int64 // after the step
	}{
		{"sequential calls share one environment", 1, 50, "", 1},
		{"a panic fails its call", -1, 1, "panicked", 1},
		{"after a panic, a fresh one", 2, 20, "", 2},
		{"a timeout fails its call", -2, 1, "timed out", 2},
		{"after a timeout, a fresh one while the stuck one runs", 3, 20, "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range tt.times {
				out, err := f.Invoke(context.Background(), "r", []byte(fmt.Sprintf(`{"n":%d}`, tt.n)))
				if tt.wantErr != "" {
					require.ErrorContains(t, err, tt.wantErr)
					continue
				}
				require.NoError(t, err)
				require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, tt.n), string(out), "got %s want n=%d", out, tt.n)
				// The environment is back waiting before the next call (else that call
				// would, rightly, start another).
				require.Eventually(t, func() bool { return lambdainvoke.IdleEnvironments(f) == 1 }, 5*time.Second, 100*time.Microsecond,
					"got %d idle environments want 1", lambdainvoke.IdleEnvironments(f))
			}
			require.Equal(t, tt.wantColdStarts, lambdainvoke.ColdStarts(f), "got %d cold starts want %d", lambdainvoke.ColdStarts(f), tt.wantColdStarts)
		})
	}
}
