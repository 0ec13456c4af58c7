// Package wiring is what every cmd/<function>/main.go does: read the environment
// once, build the AWS clients and the service, and start the one function's handler.
package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/concertsys/platform/tracing/lambdatrace"

	"github.com/concertsys/platform/queueconsumer"
	"github.com/concertsys/services/notifications"
)

// Env is the configuration read from the environment.
type Env struct {
	ConnectionsTable   string
	ManagementEndpoint string
	DynamoDBEndpoint   string
	// FanOutQueueURL is the fan-out queue (the fan-out function's; empty elsewhere).
	FanOutQueueURL string
}

// ReadEnv reads and checks the environment with getenv.
func ReadEnv(getenv func(string) string) (Env, error) {
	e := Env{
		ConnectionsTable:   getenv(notifications.EnvConnectionsTable),
		ManagementEndpoint: getenv(notifications.EnvManagementEndpoint),
		DynamoDBEndpoint:   getenv(notifications.EnvDynamoDBEndpoint),
		FanOutQueueURL:     getenv(notifications.EnvFanOutQueueURL),
	}
	var errs []error
	if e.ConnectionsTable == "" {
		errs = append(errs, fmt.Errorf("%s is not set", notifications.EnvConnectionsTable))
	}
	if u, err := url.Parse(e.ManagementEndpoint); e.ManagementEndpoint == "" || err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s must be an absolute URL, got %q", notifications.EnvManagementEndpoint, e.ManagementEndpoint))
	}
	if e.FanOutQueueURL != "" {
		if u, err := url.Parse(e.FanOutQueueURL); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute URL, got %q", notifications.EnvFanOutQueueURL, e.FanOutQueueURL))
		}
	}
	if e.DynamoDBEndpoint != "" {
		if u, err := url.Parse(e.DynamoDBEndpoint); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute URL, got %q", notifications.EnvDynamoDBEndpoint, e.DynamoDBEndpoint))
		}
	}
	return e, errors.Join(errs...)
}

// Deps builds the AWS-backed dependencies.
func Deps(ctx context.Context, e Env, logger *slog.Logger) (notifications.Deps, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return notifications.Deps{}, fmt.Errorf("load AWS config: %w", err)
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if e.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(e.DynamoDBEndpoint)
		}
	})
	mgmt := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(e.ManagementEndpoint)
	})
	deps := notifications.Deps{Store: notifications.NewDynamoStore(ddb, e.ConnectionsTable), Management: mgmt, Logger: logger}
	if e.FanOutQueueURL != "" {
		deps.FanOutQueue = notifications.NewSQSBatchQueue(sqs.NewFromConfig(cfg), e.FanOutQueueURL)
	}
	return deps, nil
}

// Build builds the service from the environment, which it reads once with getenv,
// and returns function's handler; logger is the functions' logger.
func Build(ctx context.Context, function string, getenv func(string) string, logger *slog.Logger) (any, error) {
	env, err := ReadEnv(getenv)
	if err != nil {
		return nil, err
	}
	deps, err := Deps(ctx, env, logger)
	if err != nil {
		return nil, err
	}
	svc, err := notifications.New(ctx, deps)
	if err != nil {
		return nil, err
	}
	h, err := svc.Handler(function)
	if err != nil {
		return nil, err
	}
	return queueconsumer.ForLambda(h, logger), nil
}

// Main starts function as a Lambda, or exits with a message if it cannot be built,
// so a misconfigured deployment fails at init rather than on the first event.
func Main(function string) {
	h, err := Build(context.Background(), function, os.Getenv, lambdatrace.Setup(notifications.Name, function))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", function, err)
		os.Exit(1)
	}
	lambda.Start(h)
}
