package concerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/tools/local/boltlog"

	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/concerts/embedded"
)

func TestDescribeMatchesTheMains(t *testing.T) {
	svc := concerts.Describe()
	require.Equal(t, "concerts", svc.Name)
	want := map[string]struct {
		route  string
		access service.Access
	}{
		concerts.FunctionScheduleConcert:   {"POST /concerts", service.Organizers},
		concerts.FunctionUpdateConcert:     {"PATCH /concerts/{id}", service.Organizers},
		concerts.FunctionRescheduleConcert: {"POST /concerts/{id}/reschedule", service.Organizers},
		concerts.FunctionSellTickets:       {"POST /concerts/{id}/tickets", service.Organizers},
		concerts.FunctionCancelConcert:     {"POST /concerts/{id}/cancel", service.Organizers},
		concerts.FunctionGetConcertEvents:  {"GET /concerts/{id}/events", service.Public},
	}
	require.Len(t, svc.HTTPRoutes, len(want))
	for _, r := range svc.HTTPRoutes {
		w, ok := want[r.Function]
		require.True(t, ok, "unexpected function %s", r.Function)
		require.Equal(t, w.route, r.RouteKey)
		require.Equal(t, w.access, r.Access, "access of %s", r.Function)
		require.Nil(t, r.Handler, "Describe has no handlers")
	}
	require.Equal(t, []service.Enricher{{Function: concerts.FunctionEnrichEvents}}, svc.Enrichers)

	// Every function has its main, and every main a function.
	dirs, err := os.ReadDir("cmd")
	require.NoError(t, err)
	var mains []string
	for _, d := range dirs {
		mains = append(mains, d.Name())
	}
	var fns []string
	for _, r := range svc.HTTPRoutes {
		fns = append(fns, r.Function)
	}
	fns = append(fns, concerts.FunctionEnrichEvents)
	require.ElementsMatch(t, fns, mains)
}

func TestNewNeedsItsPorts(t *testing.T) {
	_, err := concerts.New(context.Background(), concerts.Deps{})
	require.Error(t, err)
}

// TestLocalService is how devstack builds the service: boltlog plus the local
// idempotency store, real handlers.
func TestLocalService(t *testing.T) {
	dir := t.TempDir()
	log, err := boltlog.Open(filepath.Join(dir, "events.db"))
	require.NoError(t, err)
	defer log.Close()
	idem, err := embedded.OpenIdempotency(filepath.Join(dir, "idempotency.db"))
	require.NoError(t, err)
	defer idem.Close()
	svc, err := concerts.New(context.Background(), concerts.Deps{Log: log, Idempotency: idem})
	require.NoError(t, err)
	routes := map[string]service.HTTPHandler{}
	for _, r := range svc.HTTPRoutes {
		require.NotNil(t, r.Handler, r.Function)
		routes[r.RouteKey] = r.Handler
	}
	require.NotNil(t, svc.Enrichers[0].Handler)

	resp, err := routes["POST /concerts"](context.Background(), events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /concerts", RawPath: "/concerts",
		Headers: map[string]string{"content-type": "application/json"},
		Body:    `{"artist":"A","venue":"V","startsAt":"2999-01-01T20:00:00Z","capacity":5,"priceCents":100}`,
	})
	require.NoError(t, err)
	require.Equal(t, 201, resp.StatusCode, resp.Body)
	var created struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &created))
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, created.ID)

	resp, err = routes["GET /concerts/{id}/events"](context.Background(), events.APIGatewayV2HTTPRequest{
		RouteKey: "GET /concerts/{id}/events", PathParameters: map[string]string{"id": created.ID},
	})
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, resp.Body, `"type":"ConcertScheduled"`)
}

func TestNewUUIDIsUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := concerts.NewUUID()
		require.False(t, seen[id], "got duplicate %s", id)
		seen[id] = true
	}
}

func ExampleDescribe() {
	for _, r := range concerts.Describe().HTTPRoutes {
		fmt.Println(r.Function, r.RouteKey)
	}
	// Output:
	// schedule-concert POST /concerts
	// update-concert PATCH /concerts/{id}
	// reschedule-concert POST /concerts/{id}/reschedule
	// sell-tickets POST /concerts/{id}/tickets
	// cancel-concert POST /concerts/{id}/cancel
	// get-concert-events GET /concerts/{id}/events
}
