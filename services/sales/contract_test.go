package sales_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/testkit/schemavalidate"
	sales "github.com/concertsys/services/sales"
)

// Every event type the subscription names has a published schema, and Reads()
// declares each of them.
func TestSubscribedEventTypesHaveSchemasAndContracts(t *testing.T) {
	registry, err := schemavalidate.LoadRepo()
	require.NoError(t, err)
	published := map[string]bool{}
	for _, k := range registry.Keys() {
		published[k.Source+"/"+k.EventType] = true
	}
	reads := sales.Reads()
	var pattern struct {
		Source     []string `json:"source"`
		DetailType []string `json:"detail-type"`
	}
	require.NoError(t, json.Unmarshal(sales.Subscription().Pattern, &pattern))
	require.NotEmpty(t, pattern.DetailType, "the subscription names no detail-type")
	for _, source := range pattern.Source {
		for _, dt := range pattern.DetailType {
			require.True(t, published[source+"/"+dt], "no schema for %s/%s in schemas/", source, dt)
			require.Contains(t, reads, source+"/"+dt+".v1.json", "Reads() does not declare %s/%s", source, dt)
		}
	}
}

// Consumer contract: the consumer is built from the published schemas, never from
// the producer's Go packages. Every example of every schema it reads goes through the
// real handler and makes its aggregate known to the query; every property Reads()
// declares is in the schema.
func TestRecordHandlesEverySchemaExample(t *testing.T) {
	dir, err := schemavalidate.FindSchemasDir()
	require.NoError(t, err)
	for path, props := range sales.Reads() {
		t.Run(path, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
			require.NoError(t, err, "the schema %s is the contract this service consumes", path)
			var schema map[string]any
			require.NoError(t, json.Unmarshal(raw, &schema))
			for _, p := range props {
				require.True(t, schemavalidate.Provides(schema, p), "%s does not provide property %s", path, p)
			}
			examples, _ := schema["examples"].([]any)
			require.NotEmpty(t, examples, "%s has no examples", path)
			source, detailType, _ := strings.Cut(strings.TrimSuffix(path, ".v1.json"), "/")
			for i, ex := range examples {
				detail, err := json.Marshal(ex)
				require.NoError(t, err)
				svc := newService(t)
				ev := events.EventBridgeEvent{ID: "contract", Source: source, DetailType: detailType, Detail: detail}
				require.NoError(t, svc.record(context.Background(), ev), "example %d: %s", i, detail)
				id := ex.(map[string]any)["metadata"].(map[string]any)["aggregateId"].(string)
				status, body := svc.get(t, id, "")
				require.Equal(t, http.StatusOK, status, "example %d: GET %s: %s", i, id, body)
			}
		})
	}
}
