package app_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/concerts/internal/app"
)

func TestNewRepositoryRequiresPorts(t *testing.T) {
	_, err := app.NewRepository(nil, nil, nil, 0)
	require.Error(t, err)
}
