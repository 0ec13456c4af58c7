package domain_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/sales/internal/domain"
)

func TestMeasure(t *testing.T) {
	got, err := domain.Measure("AnyType", json.RawMessage(`{}`))
	require.NoError(t, err)
	require.Equal(t, domain.Measurement{Amount: 1, Events: 1}, got, "got %+v", got)
}
