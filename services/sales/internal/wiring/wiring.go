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
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/concertsys/platform/queueconsumer"
	"github.com/concertsys/platform/tracing/lambdatrace"

	sales "github.com/concertsys/services/sales"
)

// needs lists the variables each function requires besides the table's.
var needs = map[string][]string{
	sales.FunctionRecord:  nil,
	sales.FunctionGet:     nil,
	sales.FunctionCatchUp: {sales.EnvArchiveARN, sales.EnvBusARN, sales.EnvRuleARN},
}

// Main runs function as a Lambda; it exits with a message if the wiring fails, before
// any invocation is accepted.
func Main(function string) {
	logger := lambdatrace.Setup(sales.Name, function)
	handler, err := Build(context.Background(), function, os.Getenv, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", function, err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

// Build returns the handler of function wired from the environment, which it reads
// once with getenv.
func Build(ctx context.Context, function string, getenv func(string) string, logger *slog.Logger) (any, error) {
	required, ok := needs[function]
	if !ok {
		return nil, fmt.Errorf("unknown function %q", function)
	}
	env := map[string]string{}
	for _, name := range append([]string{sales.EnvTable}, required...) {
		if env[name] = getenv(name); env[name] == "" {
			return nil, fmt.Errorf("environment variable %s is required", name)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	deps := sales.Deps{
		Store:  sales.NewDynamoStore(dynamodb.NewFromConfig(cfg), env[sales.EnvTable]),
		Logger: logger,
	}
	if function == sales.FunctionCatchUp {
		deps.EventBridge = eventbridge.NewFromConfig(cfg)
		deps.ArchiveARN, deps.BusARN, deps.RuleARN = env[sales.EnvArchiveARN], env[sales.EnvBusARN], env[sales.EnvRuleARN]
	}
	svc, err := sales.New(ctx, deps)
	if err != nil {
		return nil, err
	}
	h, err := svc.Handler(function)
	if err != nil {
		return nil, err
	}
	return queueconsumer.ForLambda(h, logger), nil
}
