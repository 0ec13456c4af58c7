package dynamoidempotency_test

import (
	"testing"

	"github.com/concertsys/platform/testkit/dynamotest"

	"github.com/concertsys/services/concerts/internal/adapters/dynamoidempotency"
	"github.com/concertsys/services/concerts/internal/adapters/idempotencytest"
	"github.com/concertsys/services/concerts/internal/ports"
)

func TestConformance(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		idempotencytest.Run(t, idempotencytest.Options{NotAtomic: !b.AtomicConditions}, func(t *testing.T) ports.IdempotencyStore {
			return dynamoidempotency.New(b.Client, b.NewTable(t, "idempotency", dynamoidempotency.CreateTable))
		})
	})
}
