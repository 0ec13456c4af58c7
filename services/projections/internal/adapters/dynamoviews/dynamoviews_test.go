package dynamoviews_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/dynamotest"
	"github.com/concertsys/services/projections/internal/adapters/dynamoviews"
	"github.com/concertsys/services/projections/internal/adapters/viewstoretest"
	"github.com/concertsys/services/projections/internal/app"
)

var tables atomic.Int64

func TestConformance(t *testing.T) {
	for _, b := range dynamotest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			viewstoretest.Run(t, viewstoretest.Options{NotAtomic: !b.AtomicConditions}, func(t *testing.T) app.ViewStore {
				table := fmt.Sprintf("views-%d", tables.Add(1))
				require.NoError(t, dynamoviews.CreateTable(context.Background(), b.Client, table))
				return dynamoviews.New(b.Client, table)
			})
		})
	}
}
