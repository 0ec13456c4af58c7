package notifications_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/testkit/schemavalidate"
	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/notifications/internal/domain"
)

// Consumer contract: the fan-out is built from the published schemas, never from the
// producer's Go packages. Every example in the schema must go through the real
// fan-out handler and reach a subscriber.
func TestFanOutHandlesEverySchemaExample(t *testing.T) {
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	path := filepath.Join(dir, "projections", "ConcertViewUpdated.v1.json")
	raw, err := os.ReadFile(path)
	require.NoError(t, err, "the ConcertViewUpdated schema is the contract this service consumes")
	var schema struct {
		Examples []json.RawMessage `json:"examples"`
	}
	require.NoError(t, json.Unmarshal(raw, &schema), "decode %s", path)
	require.NotEmpty(t, schema.Examples, "%s has no examples", path)

	for i, example := range schema.Examples {
		var ids struct {
			Metadata struct {
				AggregateID      string `json:"aggregateId"`
				AggregateVersion int64  `json:"aggregateVersion"`
			} `json:"metadata"`
		}
		require.NoError(t, json.Unmarshal(example, &ids), "example %d", i)
		h := newHarness(t, stores[0].open(t), harnessOptions{})
		c := h.dial(t)
		c.subscribe(ids.Metadata.AggregateID)
		ev := events.EventBridgeEvent{ID: "contract", Source: "projections", DetailType: "ConcertViewUpdated", Detail: example}
		require.NoError(t, h.fanOut()(context.Background(), ev), "example %d: %s", i, example)
		got := c.next()
		concert, version := decodeUpdate(t, got)
		require.Equal(t, ids.Metadata.AggregateID, concert, "example %d", i)
		require.Equal(t, ids.Metadata.AggregateVersion, version, "example %d", i)
		var data map[string]any
		require.NoError(t, json.Unmarshal(example, &struct {
			Data *map[string]any `json:"data"`
		}{&data}))
		require.Equal(t, data, got["view"], "example %d: the view is forwarded field for field", i)
	}
}

// Every event type the service subscribes to must have a published schema.
func TestSubscribedEventTypesHaveSchemas(t *testing.T) {
	registry, err := schemavalidate.LoadRepo()
	require.NoError(t, err)
	published := map[[2]string]bool{}
	for _, k := range registry.Keys() {
		published[[2]string{k.Source, k.EventType}] = true
	}
	for _, c := range notifications.Describe().Consumers {
		var pattern struct {
			Source     []string `json:"source"`
			DetailType []string `json:"detail-type"`
		}
		require.NoError(t, json.Unmarshal(c.Subscription.Pattern, &pattern), "subscription %s", c.Subscription.Name)
		require.NotEmpty(t, pattern.Source, "subscription %s names no source", c.Subscription.Name)
		require.NotEmpty(t, pattern.DetailType, "subscription %s names no detail-type", c.Subscription.Name)
		for _, source := range pattern.Source {
			for _, dt := range pattern.DetailType {
				require.True(t, published[[2]string{source, dt}], "subscription %s: no schema for %s/%s in schemas/", c.Subscription.Name, source, dt)
			}
		}
	}
}

// The declared consumer contract (Reads, checked against the producer's schema by
// make schemas-compat) covers every view field this service decodes and forwards.
func TestReadsCoverTheDecodedView(t *testing.T) {
	reads := notifications.Reads()["projections/ConcertViewUpdated.v1.json"]
	require.NotEmpty(t, reads, "Reads() declares nothing for ConcertViewUpdated v1")
	view := reflect.TypeFor[domain.ConcertView]()
	for i := range view.NumField() {
		name, _, _ := strings.Cut(view.Field(i).Tag.Get("json"), ",")
		require.Contains(t, reads, "data."+name, "got Reads() without data.%s, which the fan-out decodes", name)
	}
}
