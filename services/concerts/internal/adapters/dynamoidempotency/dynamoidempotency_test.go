package dynamoidempotency_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/dynamotest"

	"github.com/concertsys/services/concerts/internal/adapters/dynamoidempotency"
	"github.com/concertsys/services/concerts/internal/adapters/idempotencytest"
	"github.com/concertsys/services/concerts/internal/app"
)

func TestConformance(t *testing.T) {
	for _, b := range dynamotest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			var n atomic.Int64
			idempotencytest.Run(t, idempotencytest.Options{NotAtomic: !b.AtomicConditions}, func(t *testing.T) app.IdempotencyStore {
				table := fmt.Sprintf("idempotency-%d", n.Add(1))
				require.NoError(t, dynamoidempotency.CreateTable(t.Context(), b.Client, table))
				return dynamoidempotency.New(b.Client, table)
			})
		})
	}
}
