// Command lambdabuild builds one deployment zip per Lambda function: every
// services/<service>/cmd/<function> becomes dist/<service>/<function>.zip holding a
// single `bootstrap` for the provided.al2023 runtime (linux/arm64, CGO off,
// -tags lambda.norpc, stripped). Zips are byte-reproducible: fixed timestamps and modes.
package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// maxZipBytes keeps cold starts fast and far below Lambda's 50 MB zip limit.
const maxZipBytes = 10 << 20

func main() {
	root := flag.String("root", ".", "repository root")
	out := flag.String("out", "dist", "output directory")
	flag.Parse()
	if err := run(*root, *out); err != nil {
		fmt.Fprintln(os.Stderr, "lambdabuild:", err)
		os.Exit(1)
	}
}

func run(root, out string) error {
	fns, err := filepath.Glob(filepath.Join(root, "services", "*", "cmd", "*", "main.go"))
	if err != nil {
		return err
	}
	sort.Strings(fns)
	if len(fns) == 0 {
		return fmt.Errorf("no services/*/cmd/*/main.go under %s", root)
	}
	tmp, err := os.MkdirTemp("", "lambdabuild")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var tooBig []string
	built := map[string]bool{} // service dirs: one go build per service makes all its binaries
	for _, mainGo := range fns {
		fnDir := filepath.Dir(mainGo)
		function := filepath.Base(fnDir)
		svcDir := filepath.Dir(filepath.Dir(fnDir))
		service := filepath.Base(svcDir)
		binDir := filepath.Join(tmp, service)
		if !built[svcDir] {
			built[svcDir] = true
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w -buildid=", "-o", binDir+string(filepath.Separator), "./cmd/...")
			cmd.Dir = svcDir
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("build %s: %w", service, err)
			}
		}
		zipPath := filepath.Join(out, service, function+".zip")
		size, err := writeZip(zipPath, filepath.Join(binDir, function))
		if err != nil {
			return fmt.Errorf("zip %s: %w", zipPath, err)
		}
		fmt.Printf("%-48s %8.2f MB\n", zipPath, float64(size)/(1<<20))
		if size > maxZipBytes {
			tooBig = append(tooBig, zipPath)
		}
	}
	if len(tooBig) > 0 {
		return fmt.Errorf("over %d bytes: %v", maxZipBytes, tooBig)
	}
	return nil
}

func writeZip(zipPath, bin string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(zipPath), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(zipPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	src, err := os.Open(bin)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, src); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
