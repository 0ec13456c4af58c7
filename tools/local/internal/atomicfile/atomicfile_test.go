package atomicfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/internal/atomicfile"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		perm os.FileMode
		data []string // written in turn; the last one must remain
	}{
		{name: "new file", perm: 0o600, data: []string{"a"}},
		{name: "replaced", perm: 0o644, data: []string{"first", "second"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			for _, d := range tt.data {
				require.NoError(t, atomicfile.Write(path, []byte(d), tt.perm))
			}
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			want := tt.data[len(tt.data)-1]
			require.Equal(t, want, string(got), "got %q, want %q", got, want)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, tt.perm, fi.Mode().Perm(), "got mode %v, want %v", fi.Mode().Perm(), tt.perm)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1, "got %v, want no temporary files left", entries)
		})
	}
}
