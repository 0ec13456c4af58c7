// Package wiring is the one place the Lambda mains build the service from their
// environment: each cmd/<function>/main.go only calls Main with its name.
package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/concertsys/platform/tracing/lambdatrace"

	"github.com/concertsys/platform/eventlog/dynamolog"

	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/concerts/internal/ports"
)

// Main builds the named function from the environment and hands it to the Lambda
// runtime. A missing variable or client error exits before lambda.Start, so a bad
// deployment fails on its first cold start instead of on a request.
func Main(function string) {
	logger := lambdatrace.Setup(concerts.Name, function)
	handler, err := Build(context.Background(), function, os.Getenv, logger)
	if err != nil {
		logger.Error("cannot start", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

// Build returns the handler of function, reading the environment through getenv.
func Build(ctx context.Context, function string, getenv func(string) string, logger *slog.Logger) (any, error) {
	if function == concerts.FunctionEnrichEvents {
		// The enricher only reshapes stream records: it needs no table.
		return ports.NewEnricher(logger), nil
	}
	logTable, idemTable, snapTable := getenv(concerts.EnvEventLogTable), getenv(concerts.EnvIdempotencyTable), getenv(concerts.EnvSnapshotTable)
	if logTable == "" || idemTable == "" || snapTable == "" {
		return nil, fmt.Errorf("%s, %s and %s must be set", concerts.EnvEventLogTable, concerts.EnvIdempotencyTable, concerts.EnvSnapshotTable)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	client := dynamodb.NewFromConfig(cfg)
	svc, err := concerts.New(ctx, concerts.Deps{
		Log:         dynamolog.New(client, logTable),
		Idempotency: concerts.NewDynamoIdempotency(client, idemTable),
		Snapshots:   concerts.NewDynamoSnapshots(client, snapTable),
		Logger:      logger,
	})
	if err != nil {
		return nil, err
	}
	return svc.Handler(function)
}
