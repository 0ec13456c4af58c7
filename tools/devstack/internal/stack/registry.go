package stack

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/concertsys/platform/service"
)

// registration is a service added with tools/newservice: its file in this package
// (service_<name>.go) registers it from an init function, so adding a service adds a
// file here and edits no list.
type registration struct {
	name  string
	build func(ctx context.Context, env environment) (built, error)
}

// built is a registered service, built on its embedded store.
type built struct {
	service service.Service
	close   func() error
	// afterStart runs once the stack serves (the catch-up job, which calls the
	// stack's own EventBridge API); its error is logged, and the job can be run again
	// with POST JobsPath+function.
	afterStart func(ctx context.Context, s *Stack) error
}

var registered []registration

func register(r registration) {
	registered = append(registered, r)
	sort.Slice(registered, func(i, j int) bool { return registered[i].name < registered[j].name })
}

// BuiltIn are the services devstack always knows; Registered those added with
// tools/newservice.
var BuiltIn = []string{"concerts", "projections", "notifications"}

// Registered lists the names of the services added with tools/newservice.
func Registered() []string {
	var out []string
	for _, r := range registered {
		out = append(out, r.name)
	}
	return out
}

// checkServices refuses names that are no service.
func checkServices(names []string) error {
	for _, n := range names {
		if !slices.Contains(BuiltIn, n) && !slices.Contains(Registered(), n) {
			return fmt.Errorf("unknown service %q, want some of %v", n, append(slices.Clone(BuiltIn), Registered()...))
		}
	}
	return nil
}

// buildRegistered builds every registered service that runs.
func buildRegistered(ctx context.Context, env environment, out *services, runs func(string) bool) error {
	for _, r := range registered {
		if !runs(r.name) {
			continue
		}
		b, err := r.build(ctx, env)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		out.closers = append(out.closers, b.close)
		out.services = append(out.services, b.service)
		if b.afterStart != nil {
			out.afterStart = append(out.afterStart, b.afterStart)
		}
	}
	return nil
}

// runJob is an afterStart hook that invokes the service's job function once.
func runJob(function string) func(ctx context.Context, s *Stack) error {
	return func(ctx context.Context, s *Stack) error {
		fn, ok := s.jobs[function]
		if !ok {
			return fmt.Errorf("no job %s", function)
		}
		out, err := fn.Invoke(ctx, "devstack-start-"+function, []byte(`{}`))
		if err != nil {
			return fmt.Errorf("job %s: %w", function, err)
		}
		s.log.Info("job ran at start", "function", function, "result", string(out))
		return nil
	}
}

// eventBridgeAs is an EventBridge client of the stack's own API signed with
// principal's keys.
type eventBridgeAs func(principal string) *eventbridge.Client
