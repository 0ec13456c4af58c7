package stack_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/devstack/internal/stack"
	"github.com/concertsys/tools/local/localiam"
)

// Services added with tools/newservice register by their file; Config.Services runs a
// subset, the others as if not deployed (no route, no rule).
func TestServicesSubset(t *testing.T) {
	require.Contains(t, stack.Registered(), "sales", "got %v, want the sales service registered by its file", stack.Registered())
	_, err := stack.Start(context.Background(), stack.Config{Addr: "127.0.0.1:0", InMemory: true,
		Services: []string{"concerts", "nope"}, Logger: slog.New(slog.DiscardHandler)})
	require.ErrorContains(t, err, `unknown service "nope"`, "got %v", err)

	tests := []struct {
		name      string
		services  []string
		wantSales bool
	}{
		{name: "every service", wantSales: true},
		{name: "without sales", services: []string{"concerts", "projections", "notifications"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := stack.Start(context.Background(), stack.Config{Addr: "127.0.0.1:0", InMemory: true,
				Services: tc.services, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			defer st.Close(context.Background())
			status, body := get(t, st.URL()+"/concerts/some-id/sales")
			require.Equal(t, http.StatusNotFound, status, "got %d %s", status, body) // an unknown concert, or no route
			require.Equal(t, tc.wantSales, strings.Contains(body, "no event has named this id"), "got %s", body)

			dev, err := st.CredentialsProvider(localiam.Developer)
			require.NoError(t, err)
			eb := eventbridge.New(eventbridge.Options{Region: stack.Region, BaseEndpoint: aws.String(st.URL() + stack.EventsAPIPath), Credentials: dev})
			out, err := eb.ListRules(context.Background(), &eventbridge.ListRulesInput{EventBusName: aws.String(stack.BusName)})
			require.NoError(t, err)
			var rules []string
			for _, r := range out.Rules {
				rules = append(rules, aws.ToString(r.Name))
			}
			require.Equal(t, tc.wantSales, slices.Contains(rules, "sales-events"), "got rules %v", rules)

			sales, err := st.CredentialsProvider("sales")
			require.NoError(t, err, "the sales service has keys of its own")
			asSales := eventbridge.New(eventbridge.Options{Region: stack.Region, BaseEndpoint: aws.String(st.URL() + stack.EventsAPIPath), Credentials: sales})
			_, err = asSales.ListRules(context.Background(), &eventbridge.ListRulesInput{})
			require.ErrorContains(t, err, "AccessDeniedException", "got %v: sales may only replay", err)
		})
	}
}
