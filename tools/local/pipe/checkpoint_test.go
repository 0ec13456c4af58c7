package pipe_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/pipe"
)

func TestCheckpoints(t *testing.T) {
	tests := []struct {
		name string
		new  func(t *testing.T) pipe.Checkpoint
	}{
		{"file", func(t *testing.T) pipe.Checkpoint {
			return pipe.NewFileCheckpoint(filepath.Join(t.TempDir(), "pipe.checkpoint"))
		}},
		{"memory", func(t *testing.T) pipe.Checkpoint { return &pipe.MemoryCheckpoint{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.new(t)
			got, err := c.Load()
			require.NoError(t, err)
			require.Zero(t, got, "fresh checkpoint: got %d, want 0", got)
			for _, pos := range []uint64{1, 17, 1 << 40} {
				require.NoError(t, c.Save(pos))
				got, err := c.Load()
				require.NoError(t, err)
				require.Equal(t, pos, got)
			}
		})
	}
}

func TestFileCheckpointSurvivesReopenAndRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe.checkpoint")
	require.NoError(t, pipe.NewFileCheckpoint(path).Save(99))
	got, err := pipe.NewFileCheckpoint(path).Load()
	require.NoError(t, err)
	require.Equal(t, uint64(99), got)

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "temporary files left behind: %v", entries)

	require.NoError(t, os.WriteFile(path, []byte("not a number"), 0o600))
	_, err = pipe.NewFileCheckpoint(path).Load()
	require.Error(t, err, "a corrupt checkpoint must fail loudly, not restart from 0")
}
