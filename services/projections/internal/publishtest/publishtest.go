// Package publishtest runs the real local EventBridge (tools/local/bus behind its
// eventsapi HTTP API) for tests, with a subscription that records every
// ConcertViewUpdated the service publishes through the AWS SDK client, and an archive
// of every event (ArchiveName), as the platform stack gives the bus.
package publishtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/envelope"
	"github.com/concertsys/platform/subscription"
	"github.com/concertsys/services/projections/viewevents"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
	"github.com/concertsys/tools/local/faults"
	"github.com/concertsys/tools/local/localiam"
)

// BusName is the bus the harness serves, ArchiveName its archive.
const (
	BusName     = "concerts-test"
	ArchiveName = BusName + "-archive"
)

// Bus is a running bus with a recording subscription to ConcertViewUpdated.
type Bus struct {
	Client *eventbridge.Client // the real SDK client, pointed at the bus
	URL    string
	Local  *bus.Bus // the bus itself: subscribe consumers, put events as their producer

	mu        sync.Mutex
	received  []envelope.Typed[viewevents.ConcertViewV1]
	raw       []json.RawMessage
	exchanges []Exchange
}

// Exchange is one PutEvents request as the bus's API saw it: the event ids
// (metadata.eventId of each detail) sent, in order, and those the answer marked failed.
type Exchange struct {
	Sent, Failed []string
}

// Start starts the bus and its HTTP API for the test.
func Start(t testing.TB) *Bus {
	t.Helper()
	return StartWithFaults(t, nil)
}

// StartWithFaults is Start with a bus that injects faults (devstack -faults), e.g.
// PutEvents entries answered as failed.
func StartWithFaults(t testing.TB, in *faults.Injector) *Bus {
	t.Helper()
	b, err := bus.New(bus.Options{Name: BusName, Faults: in, ReplayStartDelay: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	_, err = b.CreateArchive(bus.ArchiveConfig{Name: ArchiveName})
	require.NoError(t, err)
	rec := &Bus{Local: b}
	pattern := `{"source":["` + viewevents.Source + `"],"detail-type":["` + viewevents.ConcertViewUpdated + `"]}`
	require.NoError(t, b.Subscribe(subscription.Subscription{Name: "recorder", Pattern: json.RawMessage(pattern)},
		func(_ context.Context, ev events.EventBridgeEvent) error {
			var d envelope.Typed[viewevents.ConcertViewV1]
			if err := json.Unmarshal(ev.Detail, &d); err != nil {
				return err
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.received = append(rec.received, d)
			rec.raw = append(rec.raw, ev.Detail)
			return nil
		}))
	// Behind devstack's IAM emulation: the client signs as the projections service,
	// which may put only its own source.
	iam, err := localiam.NewMemory()
	require.NoError(t, err)
	keys, err := iam.Credentials(localiam.Projections)
	require.NoError(t, err)
	h := localiam.Guard{Store: iam}.Events(eventsapi.NewHandler(b))
	mux := http.NewServeMux()
	mux.Handle("/_aws/events", rec.record(h))
	mux.Handle("/_aws/events/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	rec.Client = eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL + "/_aws/events"),
		Credentials:  credentials.NewStaticCredentialsProvider(keys.AccessKeyID, keys.SecretAccessKey, ""),
	})
	return rec
}

// Received returns what was delivered so far, in delivery order.
func (b *Bus) Received() []envelope.Typed[viewevents.ConcertViewV1] {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]envelope.Typed[viewevents.ConcertViewV1](nil), b.received...)
}

// RawDetails returns the delivered details as sent.
func (b *Bus) RawDetails() []json.RawMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]json.RawMessage(nil), b.raw...)
}

// WaitFor waits until done holds for what was delivered (delivery is asynchronous).
func (b *Bus) WaitFor(t testing.TB, done func([]envelope.Typed[viewevents.ConcertViewV1]) bool) []envelope.Typed[viewevents.ConcertViewV1] {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := b.Received()
		if done(got) {
			return got
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "published events not delivered in time", "got %d events", len(got))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Exchanges returns every PutEvents request and the entries its answer marked failed.
func (b *Bus) Exchanges() []Exchange {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Exchange(nil), b.exchanges...)
}

// record notes what each PutEvents request sent and which entries failed, reading
// the JSON 1.1 request and answer on their way through.
func (b *Bus) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rw := httptest.NewRecorder()
		next.ServeHTTP(rw, r)
		for k, v := range rw.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rw.Code)
		_, _ = w.Write(rw.Body.Bytes())

		var in struct{ Entries []struct{ Detail string } }
		var out struct{ Entries []struct{ ErrorCode string } }
		if json.Unmarshal(body, &in) != nil || json.Unmarshal(rw.Body.Bytes(), &out) != nil {
			return
		}
		var ex Exchange
		for i, e := range in.Entries {
			var d struct {
				Metadata struct {
					EventID string `json:"eventId"`
				} `json:"metadata"`
			}
			_ = json.Unmarshal([]byte(e.Detail), &d)
			ex.Sent = append(ex.Sent, d.Metadata.EventID)
			if i < len(out.Entries) && out.Entries[i].ErrorCode != "" {
				ex.Failed = append(ex.Failed, d.Metadata.EventID)
			}
		}
		b.mu.Lock()
		b.exchanges = append(b.exchanges, ex)
		b.mu.Unlock()
	})
}
