package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/testkit/dynamotest"
	projections "github.com/concertsys/services/projections"
	"github.com/concertsys/services/projections/internal/domain"
	"github.com/concertsys/services/projections/internal/historygen"
	"github.com/concertsys/services/projections/internal/publishtest"
	"github.com/concertsys/services/projections/viewevents"
)

// TestOnDynamoDB wires the service as the Lambda mains do (DynamoDB views, the
// EventBridge SDK client) against real DynamoDB-API servers, and checks the consumer
// under loss and reordering, the in-process rebuild from bus events and the list.
func TestOnDynamoDB(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		ctx := context.Background()
		require.NoError(t, projections.CreateViewsTable(ctx, b.Client, "views"))
		require.NoError(t, projections.CreateViewsTable(ctx, b.Client, "rebuilt"))
		views := projections.NewDynamoViews(b.Client, "views")
		bus := publishtest.Start(t)
		svc, err := projections.New(ctx, projections.Deps{
			Views: views, EventBridge: bus.Client, EventBusName: publishtest.BusName,
			CursorKey: []byte("0123456789abcdef0123456789abcdef"),
		})
		require.NoError(t, err)

		r := rand.New(rand.NewPCG(7, 7))
		want := map[string]viewevents.ConcertViewV1{}
		var deliveries, archive []domain.Event
		for c := range 12 {
			hist := historygen.History(r, fmt.Sprintf("c%02d", c), 1+r.IntN(12))
			archive = append(archive, hist...)
			v := domain.New(hist[0].Meta.AggregateID)
			for i, e := range hist {
				require.NoError(t, v.Apply(historygen.WithoutState(e)))
				if i == len(hist)-1 || r.IntN(4) != 0 { // some events are lost on the bus
					deliveries = append(deliveries, e)
				}
			}
			want[hist[0].Meta.AggregateID] = v.State()
		}
		r.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
		for _, e := range deliveries {
			require.NoError(t, svc.Consumers[0].Handler(ctx, historygen.BusEvent(e)))
		}
		rebuilt := projections.NewDynamoViews(b.Client, "rebuilt")
		stats, err := projections.FoldEvents(ctx, func(yield func([]byte, error) bool) {
			for _, e := range archive {
				if !yield(historygen.ArchivedEvent(e), nil) {
					return
				}
			}
		}, rebuilt)
		require.NoError(t, err)
		require.Equal(t, len(want), stats.Written)
		for id, w := range want {
			live, err := views.Get(ctx, id)
			require.NoError(t, err)
			require.Equal(t, w, live.View, "concert %s", id)
			again, err := rebuilt.Get(ctx, id)
			require.NoError(t, err)
			liveJSON, _ := json.Marshal(live.View)
			rebuiltJSON, _ := json.Marshal(again.View)
			require.Equal(t, string(liveJSON), string(rebuiltJSON), "concert %s", id)
		}

		listConcerts := svc.HTTPRoutes[1].Handler
		seen := 0
		params := map[string]string{"limit": "5"}
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			page := getListPage(t, listConcerts, params)
			seen += len(page.Items)
			if page.NextCursor == "" {
				break
			}
			params = map[string]string{"limit": "5", "cursor": page.NextCursor}
		}
		require.Equal(t, len(want), seen)
	})
}
