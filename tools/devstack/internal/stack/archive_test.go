package stack_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/projections"
	"github.com/concertsys/tools/devstack/internal/stack"
	"github.com/concertsys/tools/local/localiam"
)

// TestArchiveAndRulesAsOnAWS: devstack starts with the platform's archive of every
// event, and shows the services' subscriptions as rules with Lambda targets.
func TestArchiveAndRulesAsOnAWS(t *testing.T) {
	st := startInMemory(t, filepath.Join(t.TempDir(), "keys.json"))
	dev, err := st.CredentialsProvider(localiam.Developer)
	require.NoError(t, err)
	eb := eventbridge.New(eventbridge.Options{Region: stack.Region, BaseEndpoint: aws.String(st.URL() + stack.EventsAPIPath), Credentials: dev})
	ctx := context.Background()

	archives, err := eb.ListArchives(ctx, &eventbridge.ListArchivesInput{})
	require.NoError(t, err)
	require.Len(t, archives.Archives, 1)
	require.Equal(t, stack.ArchiveName, *archives.Archives[0].ArchiveName)
	require.Equalf(t, int32(0), *archives.Archives[0].RetentionDays, "got RetentionDays %d, want 0 (forever)", *archives.Archives[0].RetentionDays)
	d, err := eb.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(stack.ArchiveName)})
	require.NoError(t, err)
	require.Nilf(t, d.EventPattern, "got pattern %v, want none (every event)", d.EventPattern)

	rule, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(projections.SubscriptionName), EventBusName: aws.String(stack.BusName)})
	require.NoError(t, err)
	require.Equal(t, "arn:aws:events:us-east-1:000000000000:rule/concertsys/"+projections.SubscriptionName, *rule.Arn)
	targets, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(projections.SubscriptionName)})
	require.NoError(t, err)
	require.Len(t, targets.Targets, 1)
	require.Equal(t, stack.QueueARN(projections.SubscriptionName), *targets.Targets[0].Arn, "the rule targets its queue")
	rules, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{})
	require.NoError(t, err)
	require.NotEmpty(t, rules.Rules)
}
