// Package lambdamain is what every cmd/<function>/main.go does: read the environment
// once, build the AWS clients and the service, and start the one function's handler.
package lambdamain

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/concertsys/services/notifications"
)

// Environment variables every function reads.
const (
	EnvConnectionsTable   = "CONNECTIONS_TABLE"
	EnvManagementEndpoint = "WS_MANAGEMENT_ENDPOINT" // https://{api-id}.execute-api.{region}.amazonaws.com/{stage}
	// EnvDynamoDBEndpoint optionally points DynamoDB at a local server.
	EnvDynamoDBEndpoint = "DYNAMODB_ENDPOINT"
)

// Env is the configuration read from the environment.
type Env struct {
	ConnectionsTable   string
	ManagementEndpoint string
	DynamoDBEndpoint   string
}

// ReadEnv reads and checks the environment with getenv.
func ReadEnv(getenv func(string) string) (Env, error) {
	e := Env{
		ConnectionsTable:   getenv(EnvConnectionsTable),
		ManagementEndpoint: getenv(EnvManagementEndpoint),
		DynamoDBEndpoint:   getenv(EnvDynamoDBEndpoint),
	}
	var errs []error
	if e.ConnectionsTable == "" {
		errs = append(errs, fmt.Errorf("%s is not set", EnvConnectionsTable))
	}
	if u, err := url.Parse(e.ManagementEndpoint); e.ManagementEndpoint == "" || err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s must be an absolute URL, got %q", EnvManagementEndpoint, e.ManagementEndpoint))
	}
	if e.DynamoDBEndpoint != "" {
		if u, err := url.Parse(e.DynamoDBEndpoint); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute URL, got %q", EnvDynamoDBEndpoint, e.DynamoDBEndpoint))
		}
	}
	return e, errors.Join(errs...)
}

// Deps builds the AWS-backed dependencies.
func Deps(ctx context.Context, e Env) (notifications.Deps, error) {
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
	return notifications.Deps{Store: notifications.NewDynamoStore(ddb, e.ConnectionsTable), Management: mgmt}, nil
}

// Handler builds the service from the environment and returns function's handler.
func Handler(ctx context.Context, function string, getenv func(string) string) (any, error) {
	env, err := ReadEnv(getenv)
	if err != nil {
		return nil, err
	}
	deps, err := Deps(ctx, env)
	if err != nil {
		return nil, err
	}
	svc, err := notifications.New(ctx, deps)
	if err != nil {
		return nil, err
	}
	return svc.Handler(function)
}

// Main starts function as a Lambda, or exits with a message if it cannot be built,
// so a misconfigured deployment fails at init rather than on the first event.
func Main(function string) {
	h, err := Handler(context.Background(), function, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", function, err)
		os.Exit(1)
	}
	lambda.Start(h)
}
