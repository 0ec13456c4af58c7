package boltlog_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/eventlog"
	"github.com/concertsys/platform/testkit/eventlogtest"
	"github.com/concertsys/tools/local/boltlog"
)

func TestSnapshotConformance(t *testing.T) {
	eventlogtest.RunSnapshots(t, eventlogtest.Options{}, func(t *testing.T) eventlog.SnapshotStore {
		s, err := boltlog.OpenSnapshots(filepath.Join(t.TempDir(), "snapshots.db"))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	})
}
