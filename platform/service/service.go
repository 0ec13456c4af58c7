// Package service describes a deployable service as a set of Lambda functions and how
// each is triggered. The same description drives cmd/<function> mains, devstack's
// emulators and the CDK stacks, so local and AWS wiring cannot drift apart.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/concertsys/platform/subscription"
)

// HTTPHandler is an API Gateway HTTP API (payload 2.0) Lambda handler.
type HTTPHandler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// WebSocketHandler is an API Gateway WebSocket API route Lambda handler.
type WebSocketHandler func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error)

// EnrichmentHandler is an EventBridge Pipe enrichment Lambda for a DynamoDB stream
// source: it gets the batch of stream records and returns one bus detail per record.
type EnrichmentHandler func(ctx context.Context, records []events.DynamoDBEventRecord) ([]json.RawMessage, error)

// Access says who may call an HTTP route.
type Access int

const (
	// Public routes need no token (reads).
	Public Access = iota
	// Organizers routes need a JWT whose cognito:groups contains OrganizersGroup.
	Organizers
)

// OrganizersGroup is the Cognito group whose members may call Organizers routes: the
// platform stack creates it on AWS and devstack's authorizer checks it.
const OrganizersGroup = "organizers"

// HTTPRoute is one route of the shared HTTP API, e.g. "POST /concerts".
type HTTPRoute struct {
	Function string // Lambda function name within the service, e.g. "schedule-concert"
	RouteKey string // "METHOD /path/{param}"
	Access   Access
	Handler  HTTPHandler
}

// WebSocketRoute is one route of the WebSocket API, e.g. "$connect" or "subscribe".
type WebSocketRoute struct {
	Function string
	RouteKey string
	Handler  WebSocketHandler
}

// Consumer is a Lambda function behind a bus rule.
type Consumer struct {
	Function     string
	Subscription subscription.Subscription
	Handler      subscription.Target
}

// PipeMaxRetryAttempts is the MaximumRetryAttempts of the pipe from a service's
// event log: a batch failing this many retries goes to the pipe's dead-letter queue
// and the pipe moves on (AWS's default, -1, would block the stream until the records
// expire). The CDK pipe (platform/infra) and devstack's pipe both use it.
const PipeMaxRetryAttempts = 10

// QueueHandler is a Lambda handler for an SQS event source mapping with
// FunctionResponseTypes ReportBatchItemFailures (platform/queueconsumer.Handler).
type QueueHandler func(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error)

// QueueWorker is a Lambda function reading a queue the service itself sends to (not
// a bus subscription), e.g. the batches a fan-out splits its work into. The queue
// gets a dead-letter queue after MaxReceiveCount receives; the functions that send
// to it name it with its Queue name.
type QueueWorker struct {
	Function string
	// Queue names the queue within the service, e.g. "fan-out-batches".
	Queue string
	// MaxReceiveCount is the receives before a message moves to the dead-letter
	// queue; 0 means subscription.DefaultMaxAttempts.
	MaxReceiveCount int
	Handler         QueueHandler
}

// Enricher is the enrichment function of the pipe from the service's event log.
type Enricher struct {
	Function string
	Handler  EnrichmentHandler
}

// JobHandler is a Lambda function invoked directly (console, CLI, a deploy step, a
// devstack command) with a JSON payload, e.g. a read model rebuild.
type JobHandler func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// Job is a Lambda function without a trigger.
type Job struct {
	Function string
	Handler  JobHandler
}

// Service is everything a service deploys as functions.
type Service struct {
	Name            string // also the EventBridge source of the events it publishes
	HTTPRoutes      []HTTPRoute
	WebSocketRoutes []WebSocketRoute
	Consumers       []Consumer
	QueueWorkers    []QueueWorker
	Enrichers       []Enricher
	Jobs            []Job
}

// Functions lists the names of every function of the service, in declaration order.
func (s Service) Functions() []string {
	var names []string
	for _, f := range s.functions() {
		names = append(names, f.name)
	}
	return names
}

// Handler returns the handler of the named function, whatever triggers it, ready for
// lambda.Start. A cmd/<function>/main.go builds the service and starts this one.
func (s Service) Handler(function string) (any, error) {
	for _, f := range s.functions() {
		if f.name != function {
			continue
		}
		h := reflect.ValueOf(f.handler).Elem()
		if h.IsNil() {
			return nil, fmt.Errorf("service %s: function %q has no handler (a Describe() value?)", s.Name, function)
		}
		return h.Interface(), nil
	}
	return nil, fmt.Errorf("service %s has no function %q", s.Name, function)
}

// Handlers maps function names to their handlers, for Attach.
type Handlers map[string]any

// Attach returns the service with each function's handler taken from handlers by
// function name: the one way every service binds its handlers to its description.
// Every function needs a handler of its trigger's type (a method value of the same
// signature will do), and every handler a function, so a renamed or forgotten
// function fails when the service is built, not on its first invocation. Each
// handler is bound traced: it runs in its invocation's span (see traced).
func (s Service) Attach(handlers Handlers) (Service, error) {
	out := Service{
		Name:            s.Name,
		HTTPRoutes:      slices.Clone(s.HTTPRoutes),
		WebSocketRoutes: slices.Clone(s.WebSocketRoutes),
		Consumers:       slices.Clone(s.Consumers),
		QueueWorkers:    slices.Clone(s.QueueWorkers),
		Enrichers:       slices.Clone(s.Enrichers),
		Jobs:            slices.Clone(s.Jobs),
	}
	var errs []error
	used := map[string]bool{}
	for _, f := range out.functions() {
		h, ok := handlers[f.name]
		if !ok {
			errs = append(errs, fmt.Errorf("function %q has no handler", f.name))
			continue
		}
		used[f.name] = true
		if err := setHandler(f.handler, h); err != nil {
			errs = append(errs, fmt.Errorf("function %q: %w", f.name, err))
		}
	}
	for name := range handlers {
		if !used[name] {
			errs = append(errs, fmt.Errorf("handler for %q, which is not a function of the service", name))
		}
	}
	if len(errs) > 0 {
		return Service{}, fmt.Errorf("service %s: %w", s.Name, errors.Join(errs...))
	}
	out.traced()
	return out, nil
}

// setHandler stores h in *dst (a pointer to a handler field) when h is a non-nil
// function of the field's signature.
func setHandler(dst, h any) error {
	field := reflect.ValueOf(dst).Elem()
	v := reflect.ValueOf(h)
	if !v.IsValid() || (v.Kind() == reflect.Func && v.IsNil()) {
		return errors.New("nil handler")
	}
	if !v.Type().ConvertibleTo(field.Type()) {
		return fmt.Errorf("handler is a %s, want %s", v.Type(), field.Type())
	}
	field.Set(v.Convert(field.Type()))
	return nil
}

// function is one function of a service: its name and a pointer to its handler field.
type function struct {
	name    string
	handler any
}

// functions lists every function in declaration order, pointing into s's slices.
func (s *Service) functions() []function {
	var out []function
	for i := range s.HTTPRoutes {
		out = append(out, function{s.HTTPRoutes[i].Function, &s.HTTPRoutes[i].Handler})
	}
	for i := range s.WebSocketRoutes {
		out = append(out, function{s.WebSocketRoutes[i].Function, &s.WebSocketRoutes[i].Handler})
	}
	for i := range s.Consumers {
		out = append(out, function{s.Consumers[i].Function, &s.Consumers[i].Handler})
	}
	for i := range s.QueueWorkers {
		out = append(out, function{s.QueueWorkers[i].Function, &s.QueueWorkers[i].Handler})
	}
	for i := range s.Enrichers {
		out = append(out, function{s.Enrichers[i].Function, &s.Enrichers[i].Handler})
	}
	for i := range s.Jobs {
		out = append(out, function{s.Jobs[i].Function, &s.Jobs[i].Handler})
	}
	return out
}
