package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/sales/internal/adapters/boltstore"
	"github.com/concertsys/services/sales/internal/adapters/storetest"
	"github.com/concertsys/services/sales/internal/app"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Options{}, func(t *testing.T) app.Store {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "sales.db"))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, st.Close()) })
		return st
	})
}
