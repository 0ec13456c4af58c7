package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/concertsys/tools/devstack/internal/stack"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/bus/eventsapi"
	"github.com/concertsys/tools/local/localauth"
	"github.com/concertsys/tools/local/localiam"
	"github.com/concertsys/tools/local/pipe"
)

// cmdToken prints an organizer JWT signed with the data directory's key, the one a
// devstack started on that directory verifies.
func cmdToken(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devstack token", flag.ContinueOnError)
	data := fs.String("data", defaultData, "data directory of the devstack the token is for")
	subject := fs.String("subject", "local-organizer", "sub claim")
	ttl := fs.Duration("ttl", 12*time.Hour, "validity")
	groups := fs.String("groups", localauth.OrganizersGroup, "comma-separated cognito:groups (empty: none, which writes refuse with 403)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var groupList []string
	for _, g := range strings.Split(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groupList = append(groupList, g)
		}
	}
	iss, err := localauth.LoadOrCreate(*data)
	if err != nil {
		return err
	}
	tok, err := iss.Token(*subject, groupList, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// cmdCredentials prints the /_aws keys of a principal as environment assignments:
// the developer's (full access) by default, a service's with -service.
func cmdCredentials(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devstack credentials", flag.ContinueOnError)
	data := fs.String("data", defaultData, "data directory of the devstack the keys are for")
	file := fs.String("credentials-file", "", "read the keys from this file (written by devstack -credentials-file) instead of -data")
	svc := fs.String("service", "", "print this service's keys (concerts, projections, notifications) instead of the developer's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := loadIAM(*data, *file, true)
	if err != nil {
		return err
	}
	principal := localiam.Developer
	if *svc != "" {
		principal = *svc
	}
	if principal == localiam.Developer && *svc != "" {
		return fmt.Errorf("-service %q: want concerts, projections or notifications", *svc)
	}
	c, err := store.Credentials(principal)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", c.AccessKeyID, c.SecretAccessKey)
	return err
}

// loadIAM reads the keys from file, else from the data directory (issuing them
// there first when create is set, as devstack itself would).
func loadIAM(data, file string, create bool) (*localiam.Store, error) {
	switch {
	case file != "":
		return localiam.Load(file)
	case create:
		return localiam.LoadOrCreate(data)
	}
	s, err := localiam.Load(filepath.Join(data, localiam.CredentialsFile))
	if err != nil {
		return nil, fmt.Errorf("%w (pass the -data of the running devstack, or -credentials-file for one started with it)", err)
	}
	return s, nil
}

// credentialFlags adds -data and -credentials-file to a client subcommand.
func credentialFlags(fs *flag.FlagSet) (data, file *string) {
	return fs.String("data", defaultData, "data directory of the running devstack, for its developer keys"),
		fs.String("credentials-file", "", "read the developer keys from this file (devstack -credentials-file) instead of -data")
}

// cmdTail prints every bus event matching the pattern, one JSON object a line, until
// interrupted.
func cmdTail(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devstack tail", flag.ContinueOnError)
	addr := fs.String("addr", defaultAddr, "address of the running devstack")
	data, file := credentialFlags(fs)
	pattern := fs.String("pattern", "", `EventBridge event pattern, e.g. {"source":["concerts"]} (default: every event)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client, err := eventsClient(*addr, *data, *file)
	if err != nil {
		return err
	}
	err = client.Tail(ctx, *pattern, func(ev events.EventBridgeEvent) error {
		line, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", line)
		return err
	})
	if ctx.Err() != nil {
		return nil // interrupted: how a tail ends
	}
	return err
}

// pipeDeadLettersSuffix is stack.PipeDeadLettersPath under the EventBridge API's path.
var pipeDeadLettersSuffix = strings.TrimPrefix(stack.PipeDeadLettersPath, stack.EventsAPIPath)

// deadLettersOutput is what dead-letters list prints: the bus's dead letters (rule
// deliveries that gave up) and the pipe's (batches' stream coordinates).
type deadLettersOutput struct {
	DeadLetters     []bus.DeadLetter  `json:"deadLetters"`
	PipeDeadLetters []pipe.DeadLetter `json:"pipeDeadLetters"`
}

// redriveOutput is what dead-letters redrive prints.
type redriveOutput struct {
	Redriven     int `json:"redriven"`
	PipeRedriven int `json:"pipeRedriven"`
}

// cmdDeadLetters lists or redrives every dead-letter store: the bus's and the pipe's.
func cmdDeadLetters(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devstack dead-letters", flag.ContinueOnError)
	addr := fs.String("addr", defaultAddr, "address of the running devstack")
	limit := fs.Int("limit", 0, "list: one page of at most this many (prints nextCursor); 0 lists all")
	cursor := fs.String("cursor", "", "list: the page after this nextCursor")
	data, file := credentialFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: devstack dead-letters [-addr A] [-data DIR | -credentials-file FILE] [list [-limit N] [-cursor C] | redrive [ID...]]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	action := "list"
	if fs.NArg() > 0 {
		action = fs.Arg(0)
	}
	if action != "list" && action != "redrive" {
		return fmt.Errorf("dead-letters: unknown action %q, want list or redrive", action)
	}
	if action == "list" && fs.NArg() > 0 {
		if err := fs.Parse(fs.Args()[1:]); err != nil { // flags may follow list too
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("dead-letters list: unexpected argument %q", fs.Arg(0))
		}
	}
	client, err := eventsClient(*addr, *data, *file)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch action {
	case "list":
		if *limit > 0 || *cursor != "" {
			page, err := client.DeadLetterPage(ctx, *limit, *cursor)
			if err != nil {
				return err
			}
			if page.DeadLetters == nil {
				page.DeadLetters = []bus.DeadLetter{}
			}
			return printJSON(stdout, page)
		}
		dls, err := client.DeadLetters(ctx)
		if err != nil {
			return err
		}
		if dls == nil {
			dls = []bus.DeadLetter{}
		}
		var pipeDLs stack.PipeDeadLettersResponse
		if err := client.Call(ctx, http.MethodGet, pipeDeadLettersSuffix, nil, &pipeDLs); err != nil {
			return err
		}
		return printJSON(stdout, deadLettersOutput{DeadLetters: dls, PipeDeadLetters: pipeDLs.DeadLetters})
	case "redrive":
		// Pipe dead letters have ids "pdl-…", the bus's "dl-…"; no ids: every one of both.
		var busIDs, pipeIDs []string
		for _, id := range fs.Args()[1:] {
			if strings.HasPrefix(id, "pdl-") {
				pipeIDs = append(pipeIDs, id)
			} else {
				busIDs = append(busIDs, id)
			}
		}
		all := len(busIDs)+len(pipeIDs) == 0
		var out redriveOutput
		if all || len(busIDs) > 0 {
			n, err := client.Redrive(ctx, busIDs...)
			if err != nil {
				return err
			}
			out.Redriven = n
		}
		if all || len(pipeIDs) > 0 {
			req := map[string]any{"all": true}
			if !all {
				req = map[string]any{"ids": pipeIDs}
			}
			var res struct {
				Redriven int `json:"redriven"`
			}
			if err := client.Call(ctx, http.MethodPost, pipeDeadLettersSuffix+"/redrive", req, &res); err != nil {
				return err
			}
			out.PipeRedriven = res.Redriven
		}
		return printJSON(stdout, out)
	}
	return nil // unreachable: the action was checked above
}

// cmdRebuild rebuilds the projections' read model: rebuild-projections replays the
// bus archive to the projections rule and follows the replay to its end.
func cmdRebuild(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devstack rebuild-projections", flag.ContinueOnError)
	addr := fs.String("addr", defaultAddr, "address of the running devstack")
	inProcess := fs.Bool("in-process", false, "fold the bus archive into the views in process instead of replaying it to the consumer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := stack.RebuildPath
	if *inProcess {
		path = stack.RebuildInProcessPath
	}
	return call(http.MethodPost, baseURL(*addr)+path, []byte("{}"), stdout)
}

// cmdHealth exits 0 when devstack answers /healthz: the container image's health
// check, which has no curl.
func cmdHealth(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devstack health", flag.ContinueOnError)
	addr := fs.String("addr", defaultAddr, "address of the running devstack")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return call(http.MethodGet, baseURL(*addr)+"/healthz", nil, stdout)
}

func call(method, u string, body []byte, stdout io.Writer) error {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is devstack running?)", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(b))
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, b, "", "  ") == nil {
		b = pretty.Bytes()
	}
	_, err = fmt.Fprintln(stdout, strings.TrimSpace(string(b)))
	return err
}

// eventsClient calls the bus's developer endpoints of the devstack at addr, signed
// with the developer keys from file or the data directory.
func eventsClient(addr, data, file string) (eventsapi.DevClient, error) {
	store, err := loadIAM(data, file, false)
	if err != nil {
		return eventsapi.DevClient{}, err
	}
	c, err := store.Credentials(localiam.Developer)
	if err != nil {
		return eventsapi.DevClient{}, err
	}
	return eventsapi.DevClient{
		BaseURL:     baseURL(addr) + stack.EventsAPIPath,
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		Region:      stack.Region,
	}, nil
}

func printJSON(stdout io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}

func baseURL(addr string) string {
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		return strings.TrimSuffix(addr, "/")
	}
	return "http://" + addr
}

// cmdReplay starts a replay of the bus archive and follows it until it ends: every
// archived event in [-from, -to) goes back on the bus, to the -rules (all if empty),
// with replay-name set. Ctrl-C cancels the replay.
func cmdReplay(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devstack replay", flag.ContinueOnError)
	addr := fs.String("addr", defaultAddr, "address of the running devstack")
	archive := fs.String("archive", stack.ArchiveName, "archive to replay")
	rules := fs.String("rules", "", "comma-separated rule names or ARNs to replay to (empty: every rule)")
	from := fs.String("from", "", "replay events at or after this RFC 3339 time (empty: from the first)")
	to := fs.String("to", "", "replay events before this RFC 3339 time (empty: now)")
	name := fs.String("name", "", "replay name (empty: devstack-<unix time>)")
	data, file := credentialFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: devstack replay [-addr A] [-data DIR | -credentials-file FILE] [-archive NAME] [-rules r1,r2] [-from T] [-to T] [-name N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	start, end := time.Unix(0, 0).UTC(), time.Now().UTC().Add(time.Second)
	for _, t := range []struct {
		flag, v string
		dst     *time.Time
	}{{"from", *from, &start}, {"to", *to, &end}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return fmt.Errorf("-%s: %w", t.flag, err)
		}
		*t.dst = v
	}
	if *name == "" {
		*name = fmt.Sprintf("devstack-%d", time.Now().UnixNano())
	}
	var filter []string
	for _, r := range strings.Split(*rules, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if !strings.HasPrefix(r, "arn:") {
			r = fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", stack.Region, stack.Account, stack.BusName, r)
		}
		filter = append(filter, r)
	}
	store, err := loadIAM(*data, *file, false)
	if err != nil {
		return err
	}
	c, err := store.Credentials(localiam.Developer)
	if err != nil {
		return err
	}
	client := eventbridge.New(eventbridge.Options{
		Region: stack.Region, BaseEndpoint: aws.String(baseURL(*addr) + stack.EventsAPIPath),
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	busARN := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", stack.Region, stack.Account, stack.BusName)
	out, err := client.StartReplay(ctx, &eventbridge.StartReplayInput{
		ReplayName:     name,
		EventSourceArn: aws.String(fmt.Sprintf("arn:aws:events:%s:%s:archive/%s", stack.Region, stack.Account, *archive)),
		EventStartTime: aws.Time(start), EventEndTime: aws.Time(end),
		Destination: &ebtypes.ReplayDestination{Arn: aws.String(busARN), FilterArns: filter},
	})
	if err != nil {
		return fmt.Errorf("start replay: %w", err)
	}
	fmt.Fprintf(stdout, "replay %s of %s [%s, %s): %s\n", *name, *archive, start.Format(time.RFC3339), end.Format(time.RFC3339), out.State)
	last, cancelled := out.State, false
	for {
		select {
		case <-ctx.Done():
			if !cancelled {
				cancelled = true
				if _, err := client.CancelReplay(context.Background(), &eventbridge.CancelReplayInput{ReplayName: name}); err != nil {
					fmt.Fprintf(stdout, "cancel: %v\n", err)
				}
			}
		case <-time.After(200 * time.Millisecond):
		}
		d, err := client.DescribeReplay(context.Background(), &eventbridge.DescribeReplayInput{ReplayName: name})
		if err != nil {
			return fmt.Errorf("describe replay: %w", err)
		}
		if d.State != last {
			progress := ""
			if d.EventLastReplayedTime != nil {
				progress = " (replayed up to " + d.EventLastReplayedTime.UTC().Format(time.RFC3339) + ")"
			}
			fmt.Fprintf(stdout, "replay %s: %s%s\n", *name, d.State, progress)
			last = d.State
		}
		switch d.State {
		case ebtypes.ReplayStateCompleted:
			return nil
		case ebtypes.ReplayStateCancelled, ebtypes.ReplayStateFailed:
			reason := ""
			if d.StateReason != nil {
				reason = ": " + *d.StateReason
			}
			return fmt.Errorf("replay %s %s%s", *name, d.State, reason)
		}
	}
}
