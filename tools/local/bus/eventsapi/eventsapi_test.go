package eventsapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
)

type fixture struct {
	bus    *bus.Bus
	srv    *httptest.Server
	client *eventbridge.Client
	base   string // server URL + /_aws/events
}

// newFixture serves a bus the way devstack mounts it and returns a real SDK client.
func newFixture(t *testing.T, opts eventsapi.Options) *fixture {
	t.Helper()
	b, err := bus.New(bus.Options{Name: "concerts-bus", Account: "123456789012", Region: "eu-west-1",
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond})
	require.NoError(t, err)
	h := eventsapi.NewHandlerWithOptions(b, opts)
	mux := http.NewServeMux()
	mux.Handle("/_aws/events", h)
	mux.Handle("/_aws/events/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = b.Close(context.Background())
	})
	base := srv.URL + "/_aws/events"
	return &fixture{bus: b, srv: srv, base: base, client: newClient(base)}
}

func newClient(base string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(base),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
		RetryMaxAttempts: 1,
	})
}

// collector is a target that keeps what it got.
type collector struct {
	mu  sync.Mutex
	got map[string]events.EventBridgeEvent
}

func (c *collector) target(_ context.Context, ev events.EventBridgeEvent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string]events.EventBridgeEvent{}
	}
	c.got[ev.ID] = ev
	return nil
}

func (c *collector) get(id string) (events.EventBridgeEvent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ev, ok := c.got[id]
	return ev, ok
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventuallyf(t, cond, 10*time.Second, 2*time.Millisecond, "timed out waiting for %s", what)
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	require.Truef(t, errors.As(err, &ae), "got %v (%T), want an API error", err, err)
	return ae.ErrorCode()
}

func reqEntry(source, detailType, detail string) types.PutEventsRequestEntry {
	e := types.PutEventsRequestEntry{}
	if source != "" {
		e.Source = aws.String(source)
	}
	if detailType != "" {
		e.DetailType = aws.String(detailType)
	}
	if detail != "" {
		e.Detail = aws.String(detail)
	}
	return e
}

func TestPutEventsPerEntryResults(t *testing.T) {
	f := newFixture(t, eventsapi.Options{})
	c := &collector{}
	require.NoError(t, f.bus.Subscribe(subscription.Subscription{Name: "all", Pattern: json.RawMessage(`{"source":["concerts"]}`)}, c.target))

	withBus := func(e types.PutEventsRequestEntry, name string) types.PutEventsRequestEntry {
		e.EventBusName = aws.String(name)
		return e
	}
	when := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	timed := reqEntry("concerts", "ConcertScheduled", `{"data":{"n":1}}`)
	timed.Time = aws.Time(when)
	timed.Resources = []string{"arn:aws:concert:c-1"}

	tests := []struct {
		name     string
		entry    types.PutEventsRequestEntry
		wantCode string
	}{
		{"valid", reqEntry("concerts", "ConcertScheduled", `{"data":{}}`), ""},
		{"valid with time and resources", timed, ""},
		{"bus by name", withBus(reqEntry("concerts", "X", `{}`), "concerts-bus"), ""},
		{"bus by ARN", withBus(reqEntry("concerts", "X", `{}`), "arn:aws:events:eu-west-1:123456789012:event-bus/concerts-bus"), ""},
		{"unknown bus", withBus(reqEntry("concerts", "X", `{}`), "nope"), bus.ErrorCodeResourceNotFound},
		{"missing source", reqEntry("", "X", `{}`), bus.ErrorCodeInvalidArgument},
		{"missing detail-type", reqEntry("concerts", "", `{}`), bus.ErrorCodeInvalidArgument},
		{"missing detail", reqEntry("concerts", "X", ""), bus.ErrorCodeInvalidArgument},
		{"detail not JSON", reqEntry("concerts", "X", `{"a":`), bus.ErrorCodeMalformedDetail},
		{"detail not an object", reqEntry("concerts", "X", `[1]`), bus.ErrorCodeMalformedDetail},
		{"reserved aws. source", reqEntry("aws.ec2", "X", `{}`), bus.ErrorCodeNotAuthorizedSrc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := reqEntry("concerts", "Filler", `{}`)
			out, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{
				Entries: []types.PutEventsRequestEntry{good, tt.entry, good},
			})
			require.NoError(t, err)
			require.Len(t, out.Entries, 3)
			wantFailed := int32(0)
			if tt.wantCode != "" {
				wantFailed = 1
			}
			require.Equalf(t, wantFailed, out.FailedEntryCount, "FailedEntryCount: got %d want %d", out.FailedEntryCount, wantFailed)
			require.NotNil(t, out.Entries[0].EventId)
			require.NotNil(t, out.Entries[2].EventId)
			got := out.Entries[1]
			require.Equalf(t, tt.wantCode, aws.ToString(got.ErrorCode), "got %s (%s), want %q", aws.ToString(got.ErrorCode), aws.ToString(got.ErrorMessage), tt.wantCode)
			if tt.wantCode != "" {
				require.Nil(t, got.EventId)
				require.NotEmpty(t, aws.ToString(got.ErrorMessage))
				return
			}
			id := aws.ToString(got.EventId)
			waitFor(t, "delivery", func() bool { _, ok := c.get(id); return ok })
		})
	}

	t.Run("delivered envelope", func(t *testing.T) {
		out, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{timed}})
		require.NoError(t, err)
		id := aws.ToString(out.Entries[0].EventId)
		var ev events.EventBridgeEvent
		waitFor(t, "delivery", func() bool { var ok bool; ev, ok = c.get(id); return ok })
		require.Equal(t, "0", ev.Version)
		require.Equal(t, "ConcertScheduled", ev.DetailType)
		require.Equal(t, "concerts", ev.Source)
		require.Equal(t, "123456789012", ev.AccountID)
		require.Equal(t, "eu-west-1", ev.Region)
		require.Equal(t, when, ev.Time)
		require.Equal(t, []string{"arn:aws:concert:c-1"}, ev.Resources)
		require.JSONEq(t, `{"data":{"n":1}}`, string(ev.Detail))
	})
}

func TestPutEventsRequestLimits(t *testing.T) {
	f := newFixture(t, eventsapi.Options{})
	many := make([]types.PutEventsRequestEntry, 11)
	for i := range many {
		many[i] = reqEntry("concerts", "X", `{}`)
	}
	half := `{"x":"` + strings.Repeat("a", bus.MaxEntriesSize/2) + `"}`
	tests := []struct {
		name     string
		entries  []types.PutEventsRequestEntry
		wantCode string
	}{
		{"eleven entries", many, "ValidationException"},
		{"no entries", []types.PutEventsRequestEntry{}, "ValidationException"},
		{"over 1 MB in total", []types.PutEventsRequestEntry{reqEntry("s", "d", half), reqEntry("s", "d", half)}, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: tt.entries})
			require.Error(t, err)
			require.Equal(t, tt.wantCode, apiCode(t, err))
		})
	}
	t.Run("ten entries of 100 KB each are fine", func(t *testing.T) {
		d := `{"x":"` + strings.Repeat("a", 100_000) + `"}`
		entries := make([]types.PutEventsRequestEntry, 10)
		for i := range entries {
			entries[i] = reqEntry("concerts", "X", d)
		}
		out, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: entries})
		require.NoError(t, err)
		require.Zero(t, out.FailedEntryCount)
	})
}

func TestTestEventPattern(t *testing.T) {
	f := newFixture(t, eventsapi.Options{})
	event := `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"TicketsSold","source":"concerts",
		"account":"123456789012","time":"2026-01-02T03:04:05Z","region":"eu-west-1","resources":[],"detail":{"data":{"quantity":4}}}`
	tests := []struct {
		name     string
		pattern  string
		event    string
		want     bool
		wantCode string
	}{
		{"match", `{"source":["concerts"],"detail":{"data":{"quantity":[{"numeric":[">=",4]}]}}}`, event, true, ""},
		{"no match", `{"detail-type":["ConcertCancelled"]}`, event, false, ""},
		{"prefix", `{"detail-type":[{"prefix":"Tickets"}]}`, event, true, ""},
		{"invalid pattern: value not array", `{"source":"concerts"}`, event, false, "InvalidEventPatternException"},
		{"invalid pattern: not JSON", `{"source":[`, event, false, "InvalidEventPatternException"},
		{"invalid pattern: empty", `{}`, event, false, "InvalidEventPatternException"},
		{"event not JSON", `{"source":["concerts"]}`, `{"id":`, false, "ValidationException"},
		{"event missing account", `{"source":["concerts"]}`, `{"id":"1","detail-type":"x","source":"concerts","time":"2026-01-02T03:04:05Z","region":"r","resources":[]}`, false, "ValidationException"},
		{"event time not a timestamp", `{"source":["concerts"]}`, strings.Replace(event, "2026-01-02T03:04:05Z", "yesterday", 1), false, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.client.TestEventPattern(context.Background(), &eventbridge.TestEventPatternInput{
				EventPattern: aws.String(tt.pattern), Event: aws.String(tt.event),
			})
			if tt.wantCode != "" {
				require.Error(t, err)
				require.Equal(t, tt.wantCode, apiCode(t, err))
				if tt.wantCode == "InvalidEventPatternException" {
					var typed *types.InvalidEventPatternException
					require.Truef(t, errors.As(err, &typed), "got %T, want *types.InvalidEventPatternException", err)
				}
				return
			}
			require.NoError(t, err)
			require.Equalf(t, tt.want, out.Result, "Result: got %v want %v", out.Result, tt.want)
		})
	}
	t.Run("relaxed handler accepts partial events", func(t *testing.T) {
		relaxed := newFixture(t, eventsapi.Options{AllowPartialTestEvents: true})
		out, err := relaxed.client.TestEventPattern(context.Background(), &eventbridge.TestEventPatternInput{
			EventPattern: aws.String(`{"a":["b"]}`), Event: aws.String(`{"a":"b"}`),
		})
		require.NoError(t, err)
		require.True(t, out.Result)
	})
}

func TestUnknownOperation(t *testing.T) {
	f := newFixture(t, eventsapi.Options{})
	_, err := f.client.PutRule(context.Background(), &eventbridge.PutRuleInput{Name: aws.String("r")})
	require.Error(t, err)
	require.Equal(t, "UnknownOperationException", apiCode(t, err))
}

func TestAPIWireErrors(t *testing.T) {
	f := newFixture(t, eventsapi.Options{})
	tests := []struct {
		name, method, target, contentType, body string
		wantStatus                              int
		wantType                                string
	}{
		{"GET", http.MethodGet, "", "", "", http.StatusMethodNotAllowed, "UnknownOperationException"},
		{"no target", http.MethodPost, "", "application/x-amz-json-1.1", `{}`, http.StatusBadRequest, "UnknownOperationException"},
		{"wrong content type", http.MethodPost, "AWSEvents.PutEvents", "text/plain", `{}`, http.StatusBadRequest, "SerializationException"},
		{"body not JSON", http.MethodPost, "AWSEvents.PutEvents", "application/x-amz-json-1.1", `{"Entries":`, http.StatusBadRequest, "SerializationException"},
		{"wrong member type", http.MethodPost, "AWSEvents.PutEvents", "application/x-amz-json-1.1", `{"Entries":"x"}`, http.StatusBadRequest, "SerializationException"},
		{"missing members", http.MethodPost, "AWSEvents.TestEventPattern", "application/x-amz-json-1.1", `{}`, http.StatusBadRequest, "ValidationException"},
		{"body over 8 MB", http.MethodPost, "AWSEvents.PutEvents", "application/x-amz-json-1.1", `{"Entries":"` + strings.Repeat("x", 8<<20) + `"}`, http.StatusRequestEntityTooLarge, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, f.base, strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equalf(t, tt.wantStatus, resp.StatusCode, "status: got %d want %d", resp.StatusCode, tt.wantStatus)
			require.Equal(t, tt.wantType, resp.Header.Get("X-Amzn-ErrorType"))
			require.Equal(t, "application/x-amz-json-1.1", resp.Header.Get("Content-Type"))
			var body struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			require.Equal(t, tt.wantType, body.Type)
			require.NotEmpty(t, body.Message)
		})
	}
}

func TestDeadLetterEndpoints(t *testing.T) {
	f := newFixture(t, eventsapi.Options{})
	fixed := make(chan struct{}) // closed once the target works again
	c := &collector{}
	require.NoError(t, f.bus.Subscribe(subscription.Subscription{Name: "fragile", Pattern: json.RawMessage(`{"source":["concerts"]}`), MaxAttempts: 1},
		func(ctx context.Context, ev events.EventBridgeEvent) error {
			select {
			case <-fixed:
				return c.target(ctx, ev)
			default:
				return errors.New("projection store down")
			}
		}))
	out, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		reqEntry("concerts", "A", `{}`), reqEntry("concerts", "B", `{}`),
	}})
	require.NoError(t, err)
	ids := []string{aws.ToString(out.Entries[0].EventId), aws.ToString(out.Entries[1].EventId)}

	list := func() eventsapi.DeadLettersResponse {
		resp, err := http.Get(f.base + "/dead-letters")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var got eventsapi.DeadLettersResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		return got
	}
	waitFor(t, "two dead letters", func() bool { return len(list().DeadLetters) == 2 })
	dls := list().DeadLetters
	require.Equal(t, "fragile", dls[0].Rule)
	require.Equal(t, "projection store down", dls[0].LastError)
	close(fixed)

	redrive := func(contentType, body string) (int, string) {
		resp, err := http.Post(f.base+"/dead-letters/redrive", contentType, strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type") + " " + string(b)
	}
	tests := []struct {
		name, contentType, body string
		wantStatus              int
		wantBody                string
	}{
		{"not JSON content type", "text/plain", `{"all":true}`, http.StatusUnsupportedMediaType, "application/problem+json"},
		{"empty object", "application/json", `{}`, http.StatusBadRequest, "application/problem+json"},
		{"unknown field", "application/json", `{"every":true}`, http.StatusBadRequest, "application/problem+json"},
		{"both ids and all", "application/json", `{"ids":["x"],"all":true}`, http.StatusBadRequest, "application/problem+json"},
		{"unknown id", "application/json", `{"ids":["dl-missing"]}`, http.StatusNotFound, "dl-missing"},
		{"one id", "application/json", fmt.Sprintf(`{"ids":[%q]}`, dls[0].ID), http.StatusOK, `{"redriven":1}`},
		{"all", "application/json", `{"all":true}`, http.StatusOK, `{"redriven":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := redrive(tt.contentType, tt.body)
			require.Equalf(t, tt.wantStatus, status, "got %d %s", status, body)
			require.Contains(t, body, tt.wantBody)
		})
	}
	waitFor(t, "redriven deliveries", func() bool {
		_, a := c.get(ids[0])
		_, b := c.get(ids[1])
		return a && b
	})
	require.Empty(t, list().DeadLetters)

	t.Run("wrong method", func(t *testing.T) {
		resp, err := http.Post(f.base+"/dead-letters", "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
}

func TestTailEndpoint(t *testing.T) {
	f := newFixture(t, eventsapi.Options{})
	pattern := url.QueryEscape(`{"detail-type":["Wanted"]}`)
	resp, err := http.Get(f.base + "/tail?limit=2&pattern=" + pattern)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))

	// The stream is open (headers flushed), so the tail is registered: put now.
	out, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		reqEntry("concerts", "Unwanted", `{}`), reqEntry("concerts", "Wanted", `{"n":1}`), reqEntry("concerts", "Wanted", `{"n":2}`),
	}})
	require.NoError(t, err)
	sc := bufio.NewScanner(resp.Body)
	var got []events.EventBridgeEvent
	for sc.Scan() {
		var ev events.EventBridgeEvent
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		got = append(got, ev)
	}
	require.Len(t, got, 2, "limit=2 ends the stream after two events")
	require.Equal(t, aws.ToString(out.Entries[1].EventId), got[0].ID)
	require.Equal(t, aws.ToString(out.Entries[2].EventId), got[1].ID)

	tests := []struct {
		name, query string
		wantStatus  int
	}{
		{"invalid pattern", "?pattern=" + url.QueryEscape(`{"a":1}`), http.StatusBadRequest},
		{"bad limit", "?limit=zero", http.StatusBadRequest},
		{"negative limit", "?limit=-1", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(f.base + "/tail" + tt.query)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tt.wantStatus, resp.StatusCode)
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		})
	}
}

func TestStatsEndpoint(t *testing.T) {
	f := newFixture(t, eventsapi.Options{})
	_, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		reqEntry("concerts", "A", `{}`), reqEntry("concerts", "A", `[]`),
	}})
	require.NoError(t, err)
	resp, err := http.Get(f.base + "/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var st bus.Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	require.Equal(t, bus.Stats{Accepted: 1, Rejected: 1}, st)
}

func TestDevClient(t *testing.T) {
	f := newFixture(t, eventsapi.Options{})
	dc := eventsapi.DevClient{BaseURL: f.base + "/"}
	fixed := make(chan struct{})
	require.NoError(t, f.bus.Subscribe(subscription.Subscription{Name: "r", Pattern: json.RawMessage(`{"source":["concerts"]}`), MaxAttempts: 1},
		func(ctx context.Context, ev events.EventBridgeEvent) error {
			select {
			case <-fixed:
				return nil
			default:
				return errors.New("not yet")
			}
		}))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tailed := make(chan string, 10)
	tailDone := make(chan error, 1)
	go func() {
		tailDone <- dc.Tail(ctx, `{"detail-type":["A"]}`, func(ev events.EventBridgeEvent) error {
			tailed <- ev.ID
			return nil
		})
	}()
	waitFor(t, "tail connected", func() bool {
		// A put reaches only a connected tail: keep putting until one comes through.
		_, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{reqEntry("other", "A", `{}`)}})
		require.NoError(t, err)
		select {
		case <-tailed:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})

	_, err := f.client.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{reqEntry("concerts", "A", `{}`)}})
	require.NoError(t, err)
	var dls []bus.DeadLetter
	waitFor(t, "dead letter via client", func() bool {
		dls, err = dc.DeadLetters(context.Background())
		require.NoError(t, err)
		return len(dls) == 1
	})
	_, err = dc.Redrive(context.Background(), "dl-unknown")
	var p *httpapi.Problem
	require.ErrorAs(t, err, &p)
	require.Equal(t, http.StatusNotFound, p.Status)

	close(fixed)
	n, err := dc.Redrive(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	waitFor(t, "delivered after redrive", func() bool {
		st, err := dc.Stats(context.Background())
		require.NoError(t, err)
		return st.Delivered == 1
	})
	cancel()
	require.ErrorIs(t, <-tailDone, context.Canceled)
}
