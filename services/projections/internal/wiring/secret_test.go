package wiring

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/testkit/dynamotest"
	projections "github.com/concertsys/services/projections"
)

// motoEndpoint is the endpoint of a moto server (which serves Secrets Manager as well
// as DynamoDB); the test skips without one, except in CI.
func motoEndpoint(t *testing.T) string {
	t.Helper()
	for _, b := range dynamotest.Backends(t) {
		if b.Name == "moto" {
			return b.Endpoint
		}
	}
	t.Skip("moto server unavailable")
	return ""
}

func TestCursorKeyIsReadFromSecretsManagerAtInit(t *testing.T) {
	endpoint := motoEndpoint(t)
	// What the Lambda runtime gives the SDK: a region, credentials, and here the
	// endpoint of the moto server.
	for k, v := range map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL": endpoint, "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := secretsmanager.New(secretsmanager.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	create := func(name, value string) string {
		out, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
		require.NoError(t, err)
		return *out.ARN
	}
	good := create("cursor-key", strings.Repeat("s", 64))
	short := create("short-key", "short")

	key, err := ReadCursorKey(ctx, client, good)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("s", 64), string(key))

	_, err = ReadCursorKey(ctx, client, short)
	require.ErrorContains(t, err, "at least 32 bytes")

	_, err = ReadCursorKey(ctx, client, strings.Replace(good, "cursor-key", "missing", 1))
	require.ErrorContains(t, err, "read cursor key")

	env := map[string]string{projections.EnvViewsTable: "views", projections.EnvCursorKeySecret: good}
	build := func(env map[string]string) (any, error) {
		return Build(ctx, projections.FunctionListConcerts, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	}
	h, err := build(env)
	require.NoError(t, err, "Build reads the secret through the SDK's default configuration")
	require.NotNil(t, h)

	env[projections.EnvCursorKeySecret] = short
	_, err = build(env)
	require.ErrorContains(t, err, "at least 32 bytes", "a short key fails at init, before any invocation")
}
