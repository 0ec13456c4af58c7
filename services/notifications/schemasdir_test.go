package notifications_test

import (
	"os"
	"path/filepath"
	"testing"
)

// schemasDir finds the repository's schemas/ directory above the working directory.
func schemasDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "schemas")); err == nil && fi.IsDir() {
			return filepath.Join(d, "schemas")
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no schemas/ directory above %s", wd)
		}
	}
}
