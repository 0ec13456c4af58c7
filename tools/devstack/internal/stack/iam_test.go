package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/devstack/internal/stack"
	"github.com/concertsys/tools/local/bus/eventsapi"
	"github.com/concertsys/tools/local/localiam"
)

// TestForgedEventsRefused is the reproduction: a PutEvents with source
// concerts and a ConcertCancelled, unsigned or signed by the projections service, is
// refused with AccessDeniedException and the view stays as it was. The services'
// own signed calls keep working (the view is built through projections' PutEvents).
func TestForgedEventsRefused(t *testing.T) {
	credsFile := filepath.Join(t.TempDir(), "keys.json")
	st := startInMemory(t, credsFile)

	resp, err := http.Post(st.URL()+"/concerts", "application/json", strings.NewReader(
		`{"artist":"A","venue":"V","startsAt":"`+time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339)+`","capacity":10,"priceCents":100}`))
	require.NoError(t, err)
	var created struct{ ID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	view := func() (int, string) {
		r, err := http.Get(st.URL() + "/concerts/" + created.ID)
		require.NoError(t, err)
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		return r.StatusCode, string(b)
	}
	var before string
	require.Eventually(t, func() bool {
		status, body := view()
		before = body
		return status == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "view of %s never appeared", created.ID)
	require.Contains(t, before, `"status":"scheduled"`)

	detail := `{"metadata":{"eventId":"forged","aggregateId":"` + created.ID + `","aggregateVersion":2,"eventType":"ConcertCancelled","schemaVersion":1},"data":{"reason":"forged"}}`
	projCreds, err := st.CredentialsProvider(localiam.Projections)
	require.NoError(t, err)
	tests := []struct {
		name  string
		creds aws.CredentialsProvider
	}{
		{name: "unsigned", creds: aws.AnonymousCredentials{}},
		{name: "signed by projections", creds: projCreds},
		{name: "unknown key", creds: credentials.NewStaticCredentialsProvider("AKIAEXAMPLEEXAMPLE00", "secret", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eb := eventbridge.New(eventbridge.Options{
				Region: stack.Region, Credentials: tt.creds, BaseEndpoint: aws.String(st.URL() + stack.EventsAPIPath),
			})
			out, err := eb.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
				Source: aws.String("concerts"), DetailType: aws.String("ConcertCancelled"), Detail: aws.String(detail), EventBusName: aws.String(stack.BusName),
			}}})
			var apiErr smithy.APIError
			require.True(t, errors.As(err, &apiErr), "got %+v, %v, want AccessDeniedException", out, err)
			require.Equal(t, "AccessDeniedException", apiErr.ErrorCode(), "got %s, want AccessDeniedException", apiErr.ErrorCode())
		})
	}
	time.Sleep(300 * time.Millisecond) // what was refused never reached the bus; give it the chance anyway
	_, after := view()
	require.Equal(t, before, after, "got the view changed by a refused PutEvents, want it unchanged")

	// The developer's keys, from the file an in-memory stack writes, reach the
	// developer endpoints; unsigned calls do not.
	fi, err := os.Stat(credsFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "got credentials file mode %v, want 0600", fi.Mode().Perm())
	keys, err := localiam.Load(credsFile)
	require.NoError(t, err)
	dev, err := keys.Credentials(localiam.Developer)
	require.NoError(t, err)
	signed := eventsapi.DevClient{BaseURL: st.URL() + stack.EventsAPIPath, Credentials: credentials.NewStaticCredentialsProvider(dev.AccessKeyID, dev.SecretAccessKey, "")}
	_, err = signed.DeadLetters(context.Background())
	require.NoError(t, err)
	_, err = eventsapi.DevClient{BaseURL: st.URL() + stack.EventsAPIPath}.DeadLetters(context.Background())
	require.ErrorContains(t, err, "403")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = signed.Tail(ctx, "", func(events.EventBridgeEvent) error { return nil })
	require.ErrorIs(t, err, context.DeadlineExceeded, "got %v from a signed tail, want it to run until cancelled", err)

	require.NoError(t, st.Close(context.Background()))
	_, err = os.Stat(credsFile)
	require.True(t, os.IsNotExist(err), "got %v, want the in-memory stack's credentials file removed on Close", err)
}
