package dynamoviews_test

import (
	"testing"

	"github.com/concertsys/platform/testkit/dynamotest"
	"github.com/concertsys/services/projections/internal/adapters/dynamoviews"
	"github.com/concertsys/services/projections/internal/adapters/viewstoretest"
	"github.com/concertsys/services/projections/internal/app"
)

func TestConformance(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		viewstoretest.Run(t, viewstoretest.Options{NotAtomic: !b.AtomicConditions}, func(t *testing.T) app.ViewStore {
			return dynamoviews.New(b.Client, b.NewTable(t, "views", dynamoviews.CreateTable))
		})
	})
}
