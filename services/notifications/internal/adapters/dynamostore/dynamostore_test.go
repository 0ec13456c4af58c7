package dynamostore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/dynamotest"
	"github.com/concertsys/services/notifications/internal/adapters/dynamostore"
	"github.com/concertsys/services/notifications/internal/adapters/storetest"
	"github.com/concertsys/services/notifications/internal/app"
)

func TestConformance(t *testing.T) {
	for _, b := range dynamotest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			var n atomic.Int64
			storetest.Run(t, storetest.Options{NotAtomic: !b.AtomicConditions}, func(t *testing.T) app.Store {
				table := fmt.Sprintf("connections-%d", n.Add(1))
				require.NoError(t, dynamostore.CreateTable(context.Background(), b.Client, table))
				return dynamostore.New(b.Client, table)
			})
		})
	}
}
