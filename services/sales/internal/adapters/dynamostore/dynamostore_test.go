package dynamostore_test

import (
	"testing"

	"github.com/concertsys/platform/testkit/dynamotest"
	"github.com/concertsys/services/sales/internal/adapters/dynamostore"
	"github.com/concertsys/services/sales/internal/adapters/storetest"
	"github.com/concertsys/services/sales/internal/app"
)

func TestConformance(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		storetest.Run(t, storetest.Options{NotAtomic: !b.AtomicConditions}, func(t *testing.T) app.Store {
			return dynamostore.New(b.Client, b.NewTable(t, "sales", dynamostore.CreateTable))
		})
	})
}
