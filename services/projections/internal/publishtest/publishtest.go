// Package publishtest runs the real local EventBridge (tools/local/bus behind its
// eventsapi HTTP API) for tests, with a subscription that records every
// ConcertViewUpdated the service publishes through the AWS SDK client, and an archive
// of every event (ArchiveName), as the platform stack gives the bus.
package publishtest

import (
	"context"
	"encoding/json"
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

	mu       sync.Mutex
	received []envelope.Typed[viewevents.ConcertViewV1]
	raw      []json.RawMessage
}

// Start starts the bus and its HTTP API for the test.
func Start(t testing.TB) *Bus {
	t.Helper()
	b, err := bus.New(bus.Options{Name: BusName, ReplayStartDelay: time.Millisecond})
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
	mux.Handle("/_aws/events", h)
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
