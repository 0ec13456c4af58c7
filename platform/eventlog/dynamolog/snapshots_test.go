package dynamolog_test

import (
	"testing"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/eventlog/dynamolog"
	"github.com/concertsys/platform/testkit/dynamotest"
	"github.com/concertsys/platform/testkit/eventlogtest"
)

func TestSnapshotConformance(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, b dynamotest.Backend) {
		eventlogtest.RunSnapshots(t, eventlogtest.Options{NotAtomic: !b.AtomicConditions}, func(t *testing.T) eventlog.SnapshotStore {
			return dynamolog.NewSnapshots(b.Client, b.NewTable(t, "snapshots", dynamolog.CreateSnapshotTable))
		})
	})
}
