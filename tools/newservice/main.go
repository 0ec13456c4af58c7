// Command newservice creates a service module in the common skeleton:
//
//	go run ./tools/newservice -name billing -subscribe '{"source":["concerts"],"detail-type":["TicketsSold"]}' \
//	  [-route 'GET /billing/{id}']
//
// writes services/<name> (root package with Env*/Function* constants, Describe and New;
// cmd/<function> mains over internal/wiring; a consumer of the subscription; a store
// port with a DynamoDB and an embedded bbolt adapter and its conformance suite; the
// query route; a catch-up job that replays the bus archive to the service's rule; the
// consumer contract and its test; README) and services/<name>/infra (its CDK stack),
// and registers the service where it must be known: one new file each in
// tools/devstack/internal/stack, tools/cdkapp and tools/schemagen (their lists
// discover registered services, so no list is edited), go.work and tools/go.mod
// (edited with the go command, idempotently). The Makefile discovers services/*/go.mod
// and lambdabuild services/*/cmd/*. Then it tidies the new modules and tools and
// regenerates schemas/ (asyncapi.json lists the new subscriber).
//
// The service builds, tests, synthesizes and runs in devstack as generated. Its owner
// edits the starting points listed in Owned (what its events mean, its README); the
// other files stay as generated, which the golden test in this package checks for every
// services/*/newservice.json.
package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"

	"github.com/concertsys/platform/service"
	"github.com/concertsys/services/concerts"
	"github.com/concertsys/services/notifications"
	"github.com/concertsys/services/projections"
)

//go:embed all:templates
var templates embed.FS

// Config is what the generator is asked for; services/<name>/newservice.json keeps it.
type Config struct {
	Name      string `json:"name"`
	Subscribe string `json:"subscribe"`
	Route     string `json:"route"`
}

// ConfigFile is where a generated service keeps its Config.
const ConfigFile = "newservice.json"

// Owned are the generated files, relative to services/<name>, that the service's owner
// is expected to edit: starting points, left out of the golden check.
var Owned = []string{"internal/domain/measure.go", "internal/domain/measure_test.go", "README.md"}

// NotRendered are written by `go mod tidy`, not by the templates.
var NotRendered = []string{"go.sum", "infra/go.sum"}

var (
	namePattern  = regexp.MustCompile(`^[a-z][a-z0-9]{1,30}$`)
	routePattern = regexp.MustCompile(`^GET /[A-Za-z0-9_/{}.-]*\{id\}[A-Za-z0-9_/{}.-]*$`)
	builtIn      = []string{"concerts", "projections", "notifications", "platform", "tools"}
)

func main() {
	var cfg Config
	root := flag.String("root", ".", "repository root")
	flag.StringVar(&cfg.Name, "name", "", "service name: lower-case letters and digits, e.g. billing")
	flag.StringVar(&cfg.Subscribe, "subscribe", "", `event pattern of its rule, naming source and detail-type, e.g. {"source":["concerts"],"detail-type":["TicketsSold"]}`)
	flag.StringVar(&cfg.Route, "route", "", "its query route, with {id} (default GET /<name>/{id})")
	noTidy := flag.Bool("no-tidy", false, "write the files only: no go work/mod edits, tidy or schemas")
	update := flag.String("update", "", "rewrite the generated files of this existing service from its newservice.json (not the Owned ones): the scaffold's changes reach it")
	flag.Parse()
	if *update != "" {
		if err := Update(*root, *update); err != nil {
			fmt.Fprintln(os.Stderr, "newservice:", err)
			os.Exit(1)
		}
		fmt.Printf("newservice: services/%s updated\n", *update)
		return
	}
	if err := Generate(*root, cfg, !*noTidy); err != nil {
		fmt.Fprintln(os.Stderr, "newservice:", err)
		os.Exit(1)
	}
	fmt.Printf("newservice: services/%s created; run: cd services/%s && go test ./... ; make dev\n", cfg.Name, cfg.Name)
}

// data is what the templates see.
type data struct {
	Name, Title, EnvPrefix, Pattern, Route string
	Schemas                                []schemaRef
}

type schemaRef struct{ Path, Type string }

// check validates cfg and fills the route's default.
func (cfg *Config) check() (data, error) {
	if !namePattern.MatchString(cfg.Name) {
		return data{}, fmt.Errorf("-name %q: want 2 to 31 lower-case letters and digits, starting with a letter", cfg.Name)
	}
	if slices.Contains(builtIn, cfg.Name) {
		return data{}, fmt.Errorf("-name %q is taken", cfg.Name)
	}
	if cfg.Route == "" {
		cfg.Route = "GET /" + cfg.Name + "/{id}"
	}
	if !routePattern.MatchString(cfg.Route) {
		return data{}, fmt.Errorf("-route %q: want GET /path with {id}", cfg.Route)
	}
	var pattern map[string]json.RawMessage
	if err := json.Unmarshal([]byte(cfg.Subscribe), &pattern); err != nil {
		return data{}, fmt.Errorf("-subscribe: not a JSON object: %w", err)
	}
	var sources, types []string
	if err := json.Unmarshal(pattern["source"], &sources); err != nil || len(sources) == 0 {
		return data{}, errors.New(`-subscribe: the pattern must name its sources as strings, e.g. "source":["concerts"] (the consumer contract is per event type)`)
	}
	if err := json.Unmarshal(pattern["detail-type"], &types); err != nil || len(types) == 0 {
		return data{}, errors.New(`-subscribe: the pattern must name its event types as strings, e.g. "detail-type":["TicketsSold"] (the consumer contract is per event type)`)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(cfg.Subscribe)); err != nil {
		return data{}, fmt.Errorf("-subscribe: %w", err)
	}
	if strings.Contains(compact.String(), "`") {
		return data{}, errors.New("-subscribe: the pattern may not contain a backquote")
	}
	d := data{Name: cfg.Name, Title: strings.ToUpper(cfg.Name[:1]) + cfg.Name[1:], EnvPrefix: strings.ToUpper(cfg.Name),
		Pattern: compact.String(), Route: cfg.Route}
	for _, s := range sources {
		for _, t := range types {
			d.Schemas = append(d.Schemas, schemaRef{Path: s + "/" + t + ".v1.json", Type: t})
		}
	}
	sort.Slice(d.Schemas, func(i, j int) bool { return d.Schemas[i].Path < d.Schemas[j].Path })
	return d, nil
}

// registrations maps each registration template to the file it becomes.
var registrations = map[string]string{
	"devstack.go.tmpl":  "tools/devstack/internal/stack/service_%s.go",
	"cdkapp.go.tmpl":    "tools/cdkapp/service_%s.go",
	"schemagen.go.tmpl": "tools/schemagen/service_%s.go",
}

// Render returns every file the generator writes for cfg, by slash path relative to
// the repository root; Go files are gofmt-ed.
func Render(cfg Config) (map[string][]byte, error) {
	d, err := cfg.check()
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	render := func(src, dst string) error {
		text, err := templates.ReadFile(src)
		if err != nil {
			return err
		}
		tpl, err := template.New(src).Delims("[[", "]]").Option("missingkey=error").Parse(string(text))
		if err != nil {
			return fmt.Errorf("template %s: %w", src, err)
		}
		var buf bytes.Buffer
		if err := tpl.Execute(&buf, d); err != nil {
			return fmt.Errorf("template %s: %w", src, err)
		}
		b := buf.Bytes()
		if strings.HasSuffix(dst, ".go") {
			if b, err = format.Source(b); err != nil {
				return fmt.Errorf("template %s: gofmt: %w", src, err)
			}
		}
		out[dst] = b
		return nil
	}
	svcRoot := "templates/svc"
	err = fs.WalkDir(templates, svcRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, svcRoot+"/"), ".tmpl")
		rel = strings.ReplaceAll(rel, "NAME", cfg.Name)
		return render(p, path.Join("services", cfg.Name, rel))
	})
	if err != nil {
		return nil, err
	}
	for src, dst := range registrations {
		if err := render("templates/reg/"+src, fmt.Sprintf(dst, cfg.Name)); err != nil {
			return nil, err
		}
	}
	conf, _ := json.MarshalIndent(cfg, "", "  ") // three strings always marshal
	out[path.Join("services", cfg.Name, ConfigFile)] = append(conf, '\n')
	return out, nil
}

// Generate writes the service under root and, with register, wires it into go.work
// and tools/go.mod, tidies and regenerates schemas/.
func Generate(root string, cfg Config, register bool) error {
	files, err := Render(cfg)
	if err != nil {
		return err
	}
	svcDir := filepath.Join(root, "services", cfg.Name)
	if _, err := os.Stat(svcDir); err == nil {
		return fmt.Errorf("%s exists already", svcDir)
	}
	routes, err := existingRoutes(root)
	if err != nil {
		return err
	}
	if err := checkRoute(cfg.Route, routes); err != nil {
		return err
	}
	for p, b := range files {
		dst := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	if !register {
		return nil
	}
	return run(root, append(registerSteps(cfg.Name), tidySteps(cfg.Name)...))
}

// step is one go command run in a directory of the repository.
type step struct {
	dir  string
	args []string
}

// registerSteps wire the new modules into go.work and tools/go.mod; both edits are
// idempotent (a second run changes nothing).
func registerSteps(name string) []step {
	mod := "github.com/concertsys/services/" + name
	return []step{
		{".", []string{"go", "work", "use", "./services/" + name, "./services/" + name + "/infra"}},
		{"tools", []string{"go", "mod", "edit", "-require=" + mod + "@v0.0.0", "-replace=" + mod + "=../services/" + name,
			"-require=" + mod + "/infra@v0.0.0", "-replace=" + mod + "/infra=../services/" + name + "/infra"}},
	}
}

// tidySteps tidy the new modules and tools, and regenerate schemas/.
func tidySteps(name string) []step {
	return []step{
		{"services/" + name, []string{"go", "mod", "tidy"}},
		{"services/" + name + "/infra", []string{"go", "mod", "tidy"}},
		{"tools", []string{"go", "mod", "tidy"}},
		{".", []string{"go", "run", "./tools/schemagen", "-out", "schemas"}},
	}
}

func run(root string, steps []step) error {
	for _, s := range steps {
		cmd := exec.Command(s.args[0], s.args[1:]...)
		cmd.Dir = filepath.Join(root, s.dir)
		switch s.args[1] {
		case "mod": // each module tidies as it deploys, on its own
			cmd.Env = append(os.Environ(), "GOWORK=off")
		case "work": // the repository's go.work, whatever GOWORK the caller has
			abs, err := filepath.Abs(filepath.Join(root, "go.work"))
			if err != nil {
				return err
			}
			cmd.Env = append(os.Environ(), "GOWORK="+abs)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s in %s: %w\n%s", strings.Join(s.args, " "), s.dir, err, out)
		}
	}
	return nil
}

// ReadConfig reads services/<name>/newservice.json under root.
func ReadConfig(root, name string) (Config, error) {
	b, err := os.ReadFile(filepath.Join(root, "services", name, ConfigFile))
	if err != nil {
		return Config{}, err
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %w", ConfigFile, err)
	}
	return cfg, nil
}

// Generated reports whether p (a Render path) is compared with the scaffold: every
// rendered file but the owner's starting points.
func Generated(name, p string) bool {
	rel, ok := strings.CutPrefix(p, "services/"+name+"/")
	return !ok || !slices.Contains(Owned, rel)
}

// Update rewrites the generated files of an existing service (see Generated).
func Update(root, name string) error {
	cfg, err := ReadConfig(root, name)
	if err != nil {
		return err
	}
	files, err := Render(cfg)
	if err != nil {
		return err
	}
	for p, b := range files {
		if !Generated(name, p) {
			continue
		}
		dst := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// existingRoutes are the HTTP routes of the built-in services and of every service made
// with the generator, by route key, with the function that serves each.
func existingRoutes(root string) (map[string]string, error) {
	out := map[string]string{}
	for _, d := range []func() service.Service{concerts.Describe, projections.Describe, notifications.Describe} {
		for _, r := range d().HTTPRoutes {
			out[r.RouteKey] = d().Name + "/" + r.Function
		}
	}
	configs, err := filepath.Glob(filepath.Join(root, "services", "*", ConfigFile))
	if err != nil {
		return nil, err
	}
	for _, c := range configs {
		cfg, err := ReadConfig(root, filepath.Base(filepath.Dir(c)))
		if err != nil {
			return nil, err
		}
		out[cfg.Route] = cfg.Name + "/get-" + cfg.Name
	}
	return out, nil
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// checkRoute refuses a route the shared HTTP API already has: the same method and
// path, whatever its parameters are named (API Gateway and devstack's gateway refuse
// both). GET /concerts/{id}/sales beside GET /concerts/{id} is fine: another path.
func checkRoute(route string, existing map[string]string) error {
	norm := func(k string) string { return pathParam.ReplaceAllString(k, "{}") }
	for k, fn := range existing {
		if norm(k) == norm(route) {
			return fmt.Errorf("-route %q clashes with %q of %s on the shared HTTP API", route, k, fn)
		}
	}
	return nil
}
