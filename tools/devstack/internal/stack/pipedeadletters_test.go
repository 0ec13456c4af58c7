package stack_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/devstack/internal/stack"
	"github.com/concertsys/tools/local/bus/eventsapi"
	"github.com/concertsys/tools/local/faults"
	"github.com/concertsys/tools/local/localiam"
	"github.com/concertsys/tools/local/pipe"
)

// TestPipeDeadLetterAndRedrive: with every invocation failing (invoke=1) the pipe
// retries a batch PipeMaxRetryAttempts times, dead-letters its coordinates and moves
// on, so the concert never reaches the read model; after a restart without faults
// (the dead letter is durable) the developer endpoints list it and a redrive reads
// the records from the log again and puts them through the enricher to the bus.
func TestPipeDeadLetterAndRedrive(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	start := func(in *faults.Injector) *stack.Stack {
		st, err := stack.Start(context.Background(), stack.Config{
			Addr: "127.0.0.1:0", DataDir: data, Logger: slog.New(slog.DiscardHandler), Faults: in,
			RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond,
		})
		require.NoError(t, err)
		return st
	}
	stop := func(st *stack.Stack) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, st.Close(ctx))
	}
	list := func(st *stack.Stack) ([]pipe.DeadLetter, eventsapi.DevClient) {
		dev, err := st.CredentialsProvider(localiam.Developer)
		require.NoError(t, err)
		c := eventsapi.DevClient{BaseURL: st.URL() + stack.EventsAPIPath, Credentials: dev}
		var out stack.PipeDeadLettersResponse
		require.NoError(t, c.Call(context.Background(), http.MethodGet, strings.TrimPrefix(stack.PipeDeadLettersPath, stack.EventsAPIPath), nil, &out))
		return out.DeadLetters, c
	}

	st := start(faults.New(faults.Spec{Invoke: 1, Seed: 1}))
	id := scheduleConcert(t, st)
	var dls []pipe.DeadLetter
	require.Eventually(t, func() bool { dls, _ = list(st); return len(dls) == 1 }, 20*time.Second, 10*time.Millisecond, "no pipe dead letter")
	require.Equal(t, pipe.SequenceNumber(1), dls[0].BatchInfo.StartSequenceNumber)
	require.Equal(t, 1+service.PipeMaxRetryAttempts, dls[0].ApproximateInvokeCount, "got %d invocations, want 1 + PipeMaxRetryAttempts", dls[0].ApproximateInvokeCount)
	require.Contains(t, dls[0].LastError, "injected fault")
	stop(st)

	st = start(nil)
	defer stop(st)
	dls, c := list(st)
	require.Len(t, dls, 1, "the pipe's dead letter survives a restart")
	status, _ := getConcert(t, st, id)
	require.Equal(t, http.StatusNotFound, status, "the checkpoint moved past the batch: the concert is not in the read model")
	var res struct {
		Redriven int `json:"redriven"`
	}
	require.NoError(t, c.Call(context.Background(), http.MethodPost, strings.TrimPrefix(stack.PipeRedrivePath, stack.EventsAPIPath), map[string]any{"all": true}, &res))
	require.Equal(t, 1, res.Redriven)
	require.Eventually(t, func() bool { s, _ := getConcert(t, st, id); return s == http.StatusOK }, 10*time.Second, 10*time.Millisecond,
		"the redriven batch never reached the read model")
	dls, _ = list(st)
	require.Empty(t, dls)
}

func scheduleConcert(t *testing.T, st *stack.Stack) string {
	t.Helper()
	resp, err := http.Post(st.URL()+"/concerts", "application/json", strings.NewReader(
		`{"artist":"A","venue":"V","startsAt":"2031-06-01T20:00:00Z","capacity":10,"priceCents":1}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", body)
	loc := resp.Header.Get("Location")
	return strings.TrimPrefix(loc, "/concerts/")
}

func getConcert(t *testing.T, st *stack.Stack, id string) (int, string) {
	t.Helper()
	return get(t, st.URL()+"/concerts/"+id)
}
