package localiam_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/localiam"
)

// A registered replayer gets keys like a built-in service and may only start replays
// of its archive under its prefix and describe those, as its catch-up role on AWS.
func TestReplayerPolicy(t *testing.T) {
	const archive = "arn:aws:events:us-east-1:000000000000:archive/bus-archive"
	localiam.RegisterReplayer("replayer-test", archive, "replayer-test-catch-up-")
	require.Contains(t, localiam.Principals, "replayer-test")
	require.Equal(t, localiam.Developer, localiam.Principals[len(localiam.Principals)-1], "got %v, want the developer last", localiam.Principals)
	store, err := localiam.NewMemory()
	require.NoError(t, err)
	c, err := store.Credentials("replayer-test")
	require.NoError(t, err, "got no keys for a registered replayer")
	g := localiam.Guard{Store: store, Now: func() time.Time { return now }}
	events := g.Events(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tests := []struct {
		name, target, body string
		wantCode           int
	}{
		{name: "start a replay of its archive", target: "AWSEvents.StartReplay", body: `{"ReplayName":"replayer-test-catch-up-1","EventSourceArn":"` + archive + `"}`, wantCode: 200},
		{name: "describe its replay", target: "AWSEvents.DescribeReplay", body: `{"ReplayName":"replayer-test-catch-up-1"}`, wantCode: 200},
		{name: "another archive", target: "AWSEvents.StartReplay", body: `{"ReplayName":"replayer-test-catch-up-1","EventSourceArn":"arn:aws:events:us-east-1:000000000000:archive/other"}`, wantCode: 400},
		{name: "a replay outside its prefix", target: "AWSEvents.DescribeReplay", body: `{"ReplayName":"someone-else"}`, wantCode: 400},
		{name: "cancel", target: "AWSEvents.CancelReplay", body: `{"ReplayName":"replayer-test-catch-up-1"}`, wantCode: 400},
		{name: "put events", target: "AWSEvents.PutEvents", body: `{"Entries":[{"Source":"replayer-test"}]}`, wantCode: 400},
		{name: "test a pattern", target: "AWSEvents.TestEventPattern", body: `{}`, wantCode: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/_aws/events", strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("X-Amz-Target", tc.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			sign(t, req, tc.body, c, "events", now)
			rec := httptest.NewRecorder()
			events.ServeHTTP(rec, serverRequest(req, tc.body))
			require.Equal(t, tc.wantCode, rec.Code, "got %d %s want %d", rec.Code, rec.Body, tc.wantCode)
		})
	}
}
