package cputime_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/internal/cputime"
)

// Busy work shows as CPU time; sleeping does not.
func TestSince(t *testing.T) {
	tests := []struct {
		name     string
		work     func()
		min, max time.Duration
	}{
		{"hashing for 100ms", func() {
			sum := sha256.Sum256(nil)
			for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
				sum = sha256.Sum256(sum[:])
			}
		}, 50 * time.Millisecond, time.Hour},
		{"sleeping for 100ms", func() { time.Sleep(100 * time.Millisecond) }, 0, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := cputime.Start()
			tt.work()
			got := m.Since()
			require.GreaterOrEqual(t, got, tt.min, "got %v of CPU, want at least %v", got, tt.min)
			require.LessOrEqual(t, got, tt.max, "got %v of CPU, want at most %v", got, tt.max)
		})
	}
}
