package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot is two levels up from this package (tools/newservice).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return root
}

// The scaffold cannot rot: every service made with the generator still has, byte for
// byte, every generated file the generator gives for its recorded flags, except the
// owner's starting points (Owned). Change a template, then run
// go run ./tools/newservice -update NAME.
func TestGeneratedServicesMatchTheScaffold(t *testing.T) {
	root := repoRoot(t)
	configs, err := filepath.Glob(filepath.Join(root, "services", "*", ConfigFile))
	require.NoError(t, err)
	require.NotEmpty(t, configs, "no generated service (services/*/%s); sales is one", ConfigFile)
	for _, c := range configs {
		name := filepath.Base(filepath.Dir(c))
		t.Run(name, func(t *testing.T) {
			cfg, err := ReadConfig(root, name)
			require.NoError(t, err)
			files, err := Render(cfg)
			require.NoError(t, err)
			for p, want := range files {
				got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
				require.NoError(t, err, "generated file %s is missing", p)
				if !Generated(name, p) {
					continue
				}
				require.Equal(t, string(want), string(got),
					"%s differs from the scaffold: edit the template in tools/newservice/templates and run go run ./tools/newservice -update %s (or list the file in Owned)", p, name)
			}
		})
	}
}

func TestConfigChecks(t *testing.T) {
	const ok = `{"source":["concerts"],"detail-type":["TicketsSold"]}`
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "valid", cfg: Config{Name: "billing", Subscribe: ok}},
		{name: "bad name", cfg: Config{Name: "Bill-ing", Subscribe: ok}, wantErr: "-name"},
		{name: "taken name", cfg: Config{Name: "concerts", Subscribe: ok}, wantErr: "taken"},
		{name: "pattern not JSON", cfg: Config{Name: "billing", Subscribe: `{`}, wantErr: "not a JSON object"},
		{name: "pattern without detail-type", cfg: Config{Name: "billing", Subscribe: `{"source":["concerts"]}`}, wantErr: "detail-type"},
		{name: "pattern without source", cfg: Config{Name: "billing", Subscribe: `{"detail-type":["X"]}`}, wantErr: "source"},
		{name: "route without id", cfg: Config{Name: "billing", Subscribe: ok, Route: "GET /billing"}, wantErr: "-route"},
		{name: "route not GET", cfg: Config{Name: "billing", Subscribe: ok, Route: "POST /billing/{id}"}, wantErr: "-route"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Render(tc.cfg)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr, "got %v", err)
				return
			}
			require.NoError(t, err)
			var paths []string
			for p := range files {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			for _, want := range []string{"services/billing/billing.go", "services/billing/cmd/record-billing/main.go",
				"services/billing/infra/infra.go", "tools/devstack/internal/stack/service_billing.go",
				"tools/cdkapp/service_billing.go", "tools/schemagen/service_billing.go", "services/billing/newservice.json"} {
				require.Contains(t, paths, want, "got files %v", paths)
			}
			require.Contains(t, string(files["services/billing/billing.go"]), `RouteGet = "GET /billing/{id}"`, "the default route")
		})
	}
}

// A throwaway service, generated into a temporary directory with the repository's
// modules as replacements, builds, vets and passes its own tests as generated: no
// hand edit. (Registration is the files Render gives; TestGeneratedServicesMatchTheScaffold
// and devstack's tests cover them on sales.)
func TestGeneratedServiceBuildsAndTests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a module (about 20 s)")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	files, err := Render(Config{Name: "throwaway", Subscribe: `{"source":["concerts"],"detail-type":["TicketsSold","ConcertCancelled"]}`})
	require.NoError(t, err)
	for p, b := range files {
		rel, ok := strings.CutPrefix(p, "services/throwaway/")
		if !ok {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, b, 0o644))
	}
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly",
			"CONCERTSYS_SCHEMAS_DIR="+filepath.Join(root, "schemas"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s in %s:\n%s", strings.Join(args, " "), dir, out)
	}
	// The templates' go.mod files are what go mod tidy writes, so the checksums of a
	// generated service (sales) are the throwaway's too: no tidy, no download.
	copySum := func(rel string) {
		b, err := os.ReadFile(filepath.Join(root, "services", "sales", rel))
		require.NoError(t, err, "the go.sum of services/sales seeds the throwaway's")
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), b, 0o644))
	}
	copySum("go.sum")
	copySum(filepath.Join("infra", "go.sum"))
	for _, m := range []string{"platform", "tools/local"} {
		run(dir, "go", "mod", "edit", "-replace=github.com/concertsys/"+m+"="+filepath.Join(root, m))
	}
	run(dir, "go", "vet", "./...")
	run(dir, "go", "test", "-count=1", "./...")
	run(filepath.Join(dir, "infra"), "go", "mod", "edit",
		"-replace=github.com/concertsys/platform="+filepath.Join(root, "platform"),
		"-replace=github.com/concertsys/platform/infra="+filepath.Join(root, "platform", "infra"),
		"-replace=github.com/concertsys/tools/local="+filepath.Join(root, "tools", "local"))
	run(filepath.Join(dir, "infra"), "go", "mod", "edit", "-replace=github.com/concertsys/services/throwaway=..")
	run(filepath.Join(dir, "infra"), "go", "vet", "./...")
	// go mod tidy would change nothing: the generated go.mod files are tidy.
	run(dir, "go", "mod", "tidy", "-diff")
	run(filepath.Join(dir, "infra"), "go", "mod", "tidy", "-diff")
}

func TestRouteClashes(t *testing.T) {
	existing, err := existingRoutes(repoRoot(t))
	require.NoError(t, err)
	require.Contains(t, existing, "GET /concerts/{id}", "got %v, want projections' route", existing)
	tests := []struct {
		route   string
		wantErr bool
	}{
		{route: "GET /concerts/{id}/revenue"},
		{route: "GET /concerts/{id}", wantErr: true},
		{route: "GET /concerts/{concertId}", wantErr: true},
		{route: "GET /concerts/{id}/sales", wantErr: true}, // the sales service's
		{route: "GET /concerts/{id}/events", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.route, func(t *testing.T) {
			err := checkRoute(tc.route, existing)
			if tc.wantErr {
				require.ErrorContains(t, err, "clashes", "got %v", err)
				return
			}
			require.NoError(t, err)
		})
	}
}

// The generator's edits of go.work and tools/go.mod are idempotent: a second run
// changes nothing, and both name the new modules.
func TestRegisterStepsAreIdempotent(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	files, err := Render(Config{Name: "again", Subscribe: `{"source":["concerts"],"detail-type":["TicketsSold"]}`})
	require.NoError(t, err)
	for _, p := range []string{"services/again/go.mod", "services/again/infra/go.mod"} {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, files[p], 0o644))
	}
	work, err := os.ReadFile(filepath.Join(root, "go.work"))
	require.NoError(t, err)
	copied := []string{"go.work"}
	for _, line := range strings.Split(string(work), "\n") { // go work use reads every module's go.mod
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "./"); ok && m != "services/again" && m != "services/again/infra" {
			copied = append(copied, m+"/go.mod")
		}
	}
	for _, p := range copied {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		require.NoError(t, err)
		dst := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, b, 0o644))
	}
	read := func() string {
		work, err := os.ReadFile(filepath.Join(dir, "go.work"))
		require.NoError(t, err)
		mod, err := os.ReadFile(filepath.Join(dir, "tools", "go.mod"))
		require.NoError(t, err)
		return string(work) + "\n---\n" + string(mod)
	}
	require.NoError(t, run(dir, registerSteps("again")))
	first := read()
	for _, want := range []string{"./services/again\n", "./services/again/infra\n",
		"github.com/concertsys/services/again v0.0.0", "github.com/concertsys/services/again => ../services/again",
		"github.com/concertsys/services/again/infra => ../services/again/infra"} {
		require.Contains(t, first, want, "got %s", first)
	}
	require.NoError(t, run(dir, registerSteps("again")))
	require.Equal(t, first, read(), "a second run changed go.work or tools/go.mod")
}
