// Command rulerdiff is a differential check of devstack's EventBridge pattern matcher
// (tools/local/eventpattern, behind TestEventPattern) against aws/event-ruler, the library
// EventBridge runs.
//
// It generates a seeded corpus of pattern/event pairs covering every operator (exact
// strings, numbers, null and booleans, prefix, suffix, equals-ignore-case, wildcard,
// every form of anything-but, numeric, cidr, exists, $or, nested and dotted paths,
// arrays, odd and subnormal numbers, Unicode case folding, empty keys), asks event-ruler
// through the Java harness in tools/eventruler and devstack through an in-process
// EventBridge API called with the AWS SDK, then minimises every disagreement, groups
// them by cause and prints them. Disagreements listed in known-differences.json (each
// with its reason and a reference) are reported but allowed; any other makes the exit
// status 1.
//
// Run it with `make conformance-ruler` (it builds the harness with Maven and picks a
// JDK of version 19 or later), or by hand from the repository root:
//
//	mvn -q -Dmaven.repo.local=.tools/m2 -f tools/eventruler/pom.xml compile
//	JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 go run ./tools/rulerdiff -n 20000 -seed 1
//
// A JDK older than 19 gives wrong reference answers: its Double.toString is not always
// the shortest form, which changes which numbers event-ruler can compare.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	n, events, workers, maxMinimise, budget, examples int
	seed                                              uint64
	java, harnessDir, known                           string
}

func run(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("rulerdiff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.n, "n", 20000, "at least this many pattern/event pairs")
	fs.Uint64Var(&c.seed, "seed", 1, "corpus seed")
	fs.IntVar(&c.events, "events", 4, "events tried on each generated pattern")
	fs.IntVar(&c.workers, "workers", 8, "TestEventPattern calls in flight")
	fs.IntVar(&c.maxMinimise, "max-minimise", 400, "minimise at most this many disagreements (the rest are classified as found)")
	fs.IntVar(&c.budget, "budget", 300, "evaluations allowed to minimise one disagreement")
	fs.IntVar(&c.examples, "examples", 3, "examples printed per cause")
	defJava := "java"
	if h := os.Getenv("JAVA_HOME"); h != "" {
		defJava = filepath.Join(h, "bin", "java")
	}
	fs.StringVar(&c.java, "java", defJava, "java binary of a JDK 19 or later (default $JAVA_HOME/bin/java)")
	fs.StringVar(&c.harnessDir, "harness", "tools/eventruler", "the harness's Maven project, compiled")
	fs.StringVar(&c.known, "known", "tools/rulerdiff/known-differences.json", "documented differences")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	undocumented, err := compare(c, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "rulerdiff:", err)
		return 2
	}
	if undocumented > 0 {
		fmt.Fprintf(stdout, "FAIL: %d undocumented disagreement(s) with event-ruler\n", undocumented)
		return 1
	}
	fmt.Fprintln(stdout, "OK: no undocumented disagreement with event-ruler")
	return 0
}

func harnessClasspath(dir string) (string, error) {
	deps, err := os.ReadFile(filepath.Join(dir, "target", "classpath.txt"))
	if err != nil {
		return "", fmt.Errorf("harness not built (mvn -f %s/pom.xml compile): %w", dir, err)
	}
	return filepath.Join(dir, "target", "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(deps)), nil
}

func compare(c config, out io.Writer) (int, error) {
	start := time.Now()
	known, err := loadKnown(c.known)
	if err != nil {
		return 0, err
	}
	cp, err := harnessClasspath(c.harnessDir)
	if err != nil {
		return 0, err
	}
	cases := Generate(c.seed, c.n, c.events)
	pairs := 0
	for _, cs := range cases {
		pairs += len(cs.Events)
	}

	rl, err := startRuler(c.java, cp)
	if err != nil {
		return 0, err
	}
	defer func() { _ = rl.close() }()
	answers, err := rl.ask(cases)
	if err != nil {
		return 0, err
	}
	dev, err := startDevstack()
	if err != nil {
		return 0, err
	}
	defer dev.close()
	ctx := context.Background()
	devVerdicts, err := dev.testAll(ctx, cases, c.workers)
	if err != nil {
		return 0, err
	}
	answered := time.Since(start)

	var found []*Disagreement
	validPatterns := 0
	for i, cs := range cases {
		rv := answers[i].verdicts(len(cs.Events))
		if answers[i].Valid {
			validPatterns++
		}
		for j := range cs.Events {
			if disagree(rv[j], devVerdicts[i][j]) {
				found = append(found, &Disagreement{
					Pattern: cs.Pattern, Event: cs.Events[j], OrigPattern: cs.Pattern, OrigEvent: cs.Events[j],
					Ruler: rv[j], Devstack: devVerdicts[i][j],
				})
			}
		}
	}

	// Minimise: a smaller pair is kept while both sides still answer as they did.
	for i, d := range found {
		if i >= c.maxMinimise {
			break
		}
		want := direction(d.Ruler, d.Devstack)
		still := func(p, e string) bool {
			a, err := rl.ask([]Case{{Pattern: p, Events: []string{e}}})
			if err != nil {
				return false
			}
			dv, err := dev.test(ctx, p, e)
			if err != nil {
				return false
			}
			rv := a[0].verdicts(1)[0]
			return disagree(rv, dv) && direction(rv, dv) == want
		}
		d.Pattern, d.Event = shrink(d.Pattern, d.Event, still, c.budget)
		d.Minimised = true
	}

	groups := map[string][]*Disagreement{}
	undocumented := 0
	for _, d := range found {
		d.Known = findKnown(known, d)
		if d.Known == nil {
			undocumented++
		}
		d.Cause = cause(d)
		groups[d.Cause] = append(groups[d.Cause], d)
	}
	report(out, c, len(cases), validPatterns, pairs, found, groups, undocumented, answered, time.Since(start))
	return undocumented, nil
}

func report(out io.Writer, c config, patterns, valid, pairs int, found []*Disagreement, groups map[string][]*Disagreement,
	undocumented int, answered, total time.Duration) {
	fmt.Fprintf(out, "rulerdiff: seed %d, %d patterns (%d valid for event-ruler), %d pattern/event pairs\n", c.seed, patterns, valid, pairs)
	fmt.Fprintf(out, "answered by both sides in %s; %d disagreement(s), %d undocumented; total %s\n",
		answered.Round(time.Millisecond), len(found), undocumented, total.Round(time.Millisecond))
	causes := make([]string, 0, len(groups))
	for k := range groups {
		causes = append(causes, k)
	}
	// Undocumented causes first, then the largest.
	slices.SortFunc(causes, func(a, b string) int {
		ua, ub := groups[a][0].Known == nil, groups[b][0].Known == nil
		if ua != ub {
			if ua {
				return -1
			}
			return 1
		}
		if d := len(groups[b]) - len(groups[a]); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	for _, k := range causes {
		g := groups[k]
		docs := map[string]int{}
		for _, d := range g {
			id := "UNDOCUMENTED"
			if d.Known != nil {
				id = "known: " + d.Known.ID
			}
			docs[id]++
		}
		fmt.Fprintf(out, "\n== %d × %s\n", len(g), k)
		for _, id := range slices.Sorted(mapKeys(docs)) {
			fmt.Fprintf(out, "   %s: %d\n", id, docs[id])
		}
		for i, d := range g {
			if i >= c.examples {
				break
			}
			tag := "minimised"
			if !d.Minimised {
				tag = "as generated"
			}
			fmt.Fprintf(out, "   example (%s):\n     pattern %s\n     event   %s\n", tag, d.Pattern, d.Event)
			if d.Ruler.Err != "" {
				fmt.Fprintf(out, "     event-ruler error: %s\n", oneLine(d.Ruler.Err))
			}
			if d.Devstack.Err != "" {
				fmt.Fprintf(out, "     devstack error: %s\n", oneLine(d.Devstack.Err))
			}
		}
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
