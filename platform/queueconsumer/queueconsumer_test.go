package queueconsumer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/queueconsumer"
	"github.com/concertsys/platform/subscription"
)

const good = `{"version":"0","id":"e1","detail-type":"TicketsSold","source":"concerts","account":"1","time":"2026-12-06T00:00:00Z","region":"us-east-1","resources":[],"detail":{"metadata":{},"data":{}}}`

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"eventbridge event", good, false},
		{"not json", `{`, true},
		{"json array", `[]`, true},
		{"no id", `{"source":"concerts","detail-type":"X","detail":{}}`, true},
		{"no source", `{"id":"e","detail-type":"X","detail":{}}`, true},
		{"no detail-type", `{"id":"e","source":"concerts","detail":{}}`, true},
		{"detail not an object", `{"id":"e","source":"concerts","detail-type":"X","detail":[1]}`, true},
		{"no detail", `{"id":"e","source":"concerts","detail-type":"X"}`, true},
		{"detail null", `{"id":"e","source":"concerts","detail-type":"X","detail":null}`, true},
		{"detail a string", `{"id":"e","source":"concerts","detail-type":"X","detail":"{}"}`, true},
		{"detail an object after whitespace", "{\"id\":\"e1\",\"source\":\"concerts\",\"detail-type\":\"TicketsSold\",\"detail\": \n {}}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := queueconsumer.Decode(tt.body)
			if tt.wantErr {
				require.ErrorIs(t, err, queueconsumer.ErrNotAnEvent, "got %v want ErrNotAnEvent", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "e1", e.ID)
			require.Equal(t, "TicketsSold", e.DetailType)
		})
	}
}

func TestHandlerReportsExactlyTheFailedMessages(t *testing.T) {
	tests := []struct {
		name   string
		bodies map[string]string // message id → body, in batch order by id
		fail   map[string]bool   // event ids the target fails
		want   []string
		ran    []string
	}{
		{"all succeed", map[string]string{"m1": good}, nil, nil, []string{"e1"}},
		{"target fails", map[string]string{"m1": good}, map[string]bool{"e1": true}, []string{"m1"}, []string{"e1"}},
		{"undecodable body fails, never dropped", map[string]string{"m1": "garbage", "m2": good}, nil, []string{"m1"}, []string{"e1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var ran []string
			target := func(ctx context.Context, e events.EventBridgeEvent) error {
				mu.Lock()
				ran = append(ran, e.ID)
				mu.Unlock()
				if tt.fail[e.ID] {
					return errors.New("boom")
				}
				return nil
			}
			var batch events.SQSEvent
			for _, id := range []string{"m1", "m2", "m3"} {
				if b, ok := tt.bodies[id]; ok {
					batch.Records = append(batch.Records, events.SQSMessage{MessageId: id, Body: b})
				}
			}
			resp, err := queueconsumer.New(target, slog.New(slog.DiscardHandler))(context.Background(), batch)
			require.NoError(t, err, "a batch never fails as a whole")
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			require.Equal(t, tt.want, got, "got failures %v want %v", got, tt.want)
			require.Equal(t, tt.ran, ran, "got targets run %v want %v", ran, tt.ran)
		})
	}
	t.Run("past the deadline nothing is run, all is reported", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var runs atomic.Int32
		target := func(context.Context, events.EventBridgeEvent) error { runs.Add(1); return nil }
		resp, err := queueconsumer.New(target, nil)(ctx, events.SQSEvent{Records: []events.SQSMessage{
			{MessageId: "m1", Body: good}, {MessageId: "m2", Body: good},
		}})
		require.NoError(t, err)
		require.Zero(t, runs.Load(), "got %d runs want 0", runs.Load())
		require.Equal(t, []events.SQSBatchItemFailure{{ItemIdentifier: "m1"}, {ItemIdentifier: "m2"}}, resp.BatchItemFailures)
	})
}

func TestHandlerRunsTheBatchConcurrently(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{"a full batch", queueconsumer.MaxConcurrent},
		{"two messages", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every target waits until all have started: sequential runs would never end.
			var started sync.WaitGroup
			started.Add(tt.n)
			target := func(ctx context.Context, e events.EventBridgeEvent) error {
				started.Done()
				started.Wait()
				if e.ID == "fail" {
					return errors.New("boom")
				}
				return nil
			}
			var batch events.SQSEvent
			var want []events.SQSBatchItemFailure
			for i := range tt.n {
				body := good
				if i%2 == 1 {
					body = strings.Replace(good, `"id":"e1"`, `"id":"fail"`, 1)
					want = append(want, events.SQSBatchItemFailure{ItemIdentifier: fmt.Sprintf("m%d", i)})
				}
				batch.Records = append(batch.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i), Body: body})
			}
			resp, err := queueconsumer.New(target, slog.New(slog.DiscardHandler))(context.Background(), batch)
			require.NoError(t, err)
			require.Equal(t, want, resp.BatchItemFailures, "got %v want %v, in the batch's order", resp.BatchItemFailures, want)
		})
	}
}

func TestNewReportingSaysWhyEachMessageFailed(t *testing.T) {
	target := func(ctx context.Context, e events.EventBridgeEvent) error { return errors.New("view behind") }
	got := map[string]string{}
	h := queueconsumer.NewReporting(target, slog.New(slog.DiscardHandler), func(id string, err error) { got[id] = err.Error() })
	_, err := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: good}, {MessageId: "m2", Body: "garbage"}}})
	require.NoError(t, err)
	require.Contains(t, got["m1"], "view behind", "got %v", got)
	require.ErrorContains(t, errors.New(got["m2"]), "event", "got %v: an undecodable body is reported too", got)
}

func TestForLambda(t *testing.T) {
	var target subscription.Target = func(context.Context, events.EventBridgeEvent) error { return nil }
	route := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, nil
	}
	tests := []struct {
		name      string
		handler   any
		wantQueue bool
	}{
		{"a subscription target reads its queue", target, true},
		{"any other handler is unchanged", route, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := queueconsumer.ForLambda(tt.handler, nil)
			_, isQueue := got.(queueconsumer.Handler)
			require.Equal(t, tt.wantQueue, isQueue, "got %T", got)
		})
	}
}
