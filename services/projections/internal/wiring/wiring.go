// Package wiring is the shared wiring of the cmd/<function> mains: read the
// environment once, fail fast on what the function needs, build the AWS clients and
// start the one handler.
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/concertsys/platform/tracing/lambdatrace"

	"github.com/concertsys/platform/queueconsumer"
	projections "github.com/concertsys/services/projections"
)

// minCursorKeyBytes keeps a configured cursor key from being guessable.
const minCursorKeyBytes = 32

// needs lists the variables each function requires besides VIEWS_TABLE.
var needs = map[string][]string{
	projections.FunctionProjectConcerts: {projections.EnvEventBusName},
	projections.FunctionGetConcert:      nil,
	projections.FunctionListConcerts:    {projections.EnvCursorKeySecret},
	projections.FunctionRebuild:         {projections.EnvArchiveARN, projections.EnvBusARN, projections.EnvRuleARN},
}

// Main runs function as a Lambda; it exits with a message if the wiring fails, before
// any invocation is accepted.
func Main(function string) {
	logger := lambdatrace.Setup(projections.Name, function)
	handler, err := Build(context.Background(), function, os.Getenv, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", function, err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

// Build returns the handler of function wired from the environment, which it reads
// once with getenv; logger is the functions' logger.
func Build(ctx context.Context, function string, getenv func(string) string, logger *slog.Logger) (any, error) {
	required, ok := needs[function]
	if !ok {
		return nil, fmt.Errorf("unknown function %q", function)
	}
	env := map[string]string{}
	for _, name := range append([]string{projections.EnvViewsTable}, required...) {
		if env[name] = getenv(name); env[name] == "" {
			return nil, fmt.Errorf("environment variable %s is required", name)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	var cursorKey []byte
	if arn := env[projections.EnvCursorKeySecret]; arn != "" {
		if cursorKey, err = ReadCursorKey(ctx, secretsmanager.NewFromConfig(cfg), arn); err != nil {
			return nil, err
		}
	}
	ddb := dynamodb.NewFromConfig(cfg)
	deps := projections.Deps{
		Views:     projections.NewDynamoViews(ddb, env[projections.EnvViewsTable]),
		CursorKey: cursorKey,
		Logger:    logger,
	}
	if bus := env[projections.EnvEventBusName]; bus != "" {
		deps.EventBridge, deps.EventBusName = eventbridge.NewFromConfig(cfg), bus
	}
	if archive := env[projections.EnvArchiveARN]; archive != "" {
		deps.EventBridge = eventbridge.NewFromConfig(cfg)
		deps.Replay = projections.ReplayTarget{ArchiveARN: archive, EventBusARN: env[projections.EnvBusARN],
			RuleARN: env[projections.EnvRuleARN]}
	}
	svc, err := projections.New(ctx, deps)
	if err != nil {
		return nil, err
	}
	h, err := svc.Handler(function)
	if err != nil {
		return nil, err
	}
	return queueconsumer.ForLambda(h, logger), nil
}

// SecretReader is the Secrets Manager call ReadCursorKey makes.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ReadCursorKey reads the cursor HMAC key from the secret arn (its SecretString, or
// its SecretBinary) and refuses a key shorter than minCursorKeyBytes.
func ReadCursorKey(ctx context.Context, client SecretReader, arn string) ([]byte, error) {
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read cursor key from %s: %w", projections.EnvCursorKeySecret, err)
	}
	key := out.SecretBinary
	if out.SecretString != nil {
		key = []byte(*out.SecretString)
	}
	if len(key) < minCursorKeyBytes {
		return nil, fmt.Errorf("cursor key in %s must be at least %d bytes, got %d", projections.EnvCursorKeySecret, minCursorKeyBytes, len(key))
	}
	return key, nil
}
