package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/localiam"
)

// TestSubcommands runs tail, dead-letters and rebuild-projections against a running
// devstack, as a developer would.
func TestSubcommands(t *testing.T) {
	data := t.TempDir()
	p := startDevstack(t, freeAddr(t), "-data", data, "-auth=off")

	health, err := exec.Command(devstackBin, "health", "-addr", p.addr).CombinedOutput()
	require.NoError(t, err, "devstack health: %s", health)
	down, err := exec.Command(devstackBin, "health", "-addr", freeAddr(t)).CombinedOutput()
	require.Error(t, err, "got success from devstack health on a closed port, want failure: %s", down)

	tail := exec.Command(devstackBin, "tail", "-addr", p.addr, "-data", data, "-pattern", `{"source":["concerts"],"detail-type":["ConcertScheduled"]}`)
	out, err := tail.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, tail.Start())
	t.Cleanup(func() { _ = tail.Process.Kill(); _ = tail.Wait() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	// The tail attaches asynchronously: write until it reports an event.
	var id string
	deadline := time.After(15 * time.Second)
	for id == "" {
		res := do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(
			`{"artist":"Tail","venue":"Here","startsAt":%q,"capacity":3,"priceCents":1}`, future(time.Hour)))
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		select {
		case line, ok := <-lines:
			require.True(t, ok, "devstack tail exited")
			var ev events.EventBridgeEvent
			require.NoError(t, json.Unmarshal([]byte(line), &ev), "tail line %q", line)
			require.Equal(t, "concerts", ev.Source)
			require.Equal(t, "ConcertScheduled", ev.DetailType)
			var d struct {
				Metadata struct {
					AggregateID string `json:"aggregateId"`
				} `json:"metadata"`
			}
			require.NoError(t, json.Unmarshal(ev.Detail, &d))
			id = d.Metadata.AggregateID
			require.NotEmpty(t, id, "tail event without metadata.aggregateId: %s", line)
		case <-time.After(500 * time.Millisecond):
		case <-deadline:
			t.Fatal("devstack tail printed nothing within 15s")
		}
	}
	require.NoError(t, tail.Process.Signal(syscall.SIGINT))

	dl, err := exec.Command(devstackBin, "dead-letters", "-addr", p.addr, "-data", data, "list").Output()
	require.NoError(t, err)
	var list struct {
		DeadLetters     []json.RawMessage `json:"deadLetters"`
		PipeDeadLetters []json.RawMessage `json:"pipeDeadLetters"`
	}
	require.NoError(t, json.Unmarshal(dl, &list), "dead-letters list printed %s", dl)
	require.Empty(t, list.DeadLetters)
	require.NotNil(t, list.PipeDeadLetters, "the pipe's dead letters are listed too: got %s", dl)
	require.Empty(t, list.PipeDeadLetters)
	rd, err := exec.Command(devstackBin, "dead-letters", "-addr", p.addr, "-data", data, "redrive").Output()
	require.NoError(t, err)
	require.JSONEq(t, `{"redriven":0,"pipeRedriven":0}`, string(rd), "got %s", rd)
	page, err := exec.Command(devstackBin, "dead-letters", "-addr", p.addr, "-data", data, "list", "-limit", "5").Output()
	require.NoError(t, err)
	require.JSONEq(t, `{"deadLetters":[]}`, string(page), "got %s for an empty first page, want no nextCursor", page)
	bad, err := exec.Command(devstackBin, "dead-letters", "-addr", p.addr, "-data", data, "list", "-cursor", "%%%%x").CombinedOutput()
	require.Error(t, err, "got success for a cursor that does not parse, want failure: %s", bad)
	require.Contains(t, string(bad), "400", "got %s, want the 400 named", bad)

	rb, err := exec.Command(devstackBin, "rebuild-projections", "-addr", p.addr).Output()
	require.NoError(t, err)
	var replay struct {
		Replay string `json:"replay"`
		State  string `json:"state"`
	}
	require.NoError(t, json.Unmarshal(rb, &replay), "rebuild-projections printed %s", rb)
	require.Equal(t, "COMPLETED", replay.State, "rebuild-projections printed %s, want its replay of the archive completed", rb)
	require.True(t, strings.HasPrefix(replay.Replay, "projections-rebuild-"), "replay %q", replay.Replay)
	fold, err := exec.Command(devstackBin, "rebuild-projections", "-addr", p.addr, "-in-process").Output()
	require.NoError(t, err)
	var stats struct {
		Events   int `json:"events"`
		Concerts int `json:"concerts"`
		Written  int `json:"written"`
	}
	require.NoError(t, json.Unmarshal(fold, &stats), "rebuild-projections -in-process printed %s", fold)
	require.Positive(t, stats.Events, "got %s, want the archive's events folded", fold)
	require.Positive(t, stats.Concerts, "got %s", fold)
	require.Equal(t, stats.Concerts, stats.Written, "got %s, want every view rewritten at its version", fold)

	err = exec.Command(devstackBin, "dead-letters", "-addr", p.addr, "bogus").Run()
	require.Error(t, err, "an unknown action must fail")
	require.NoError(t, p.stop(syscall.SIGTERM))
}

// TestReadyLineSaysWhereToGo: the first thing `make dev` prints names the board, the
// API, the WebSocket URL and, with auth on, how to get a token.
func TestReadyLineSaysWhereToGo(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{name: "auth on, durable", args: []string{"-auth=on"},
			want: []string{"board=http://%s/ ", "api=http://%s/concerts ", "ws=ws://%s/ws ", "auth=true", `token="devstack token -data `}},
		{name: "auth off, in memory", args: []string{"-auth=off", "-in-memory"},
			want: []string{"board=http://%s/ ", "api=http://%s/concerts ", "ws=ws://%s/ws ", "auth=false"}, notWant: []string{"token="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-log-level", "info", "-data", t.TempDir()}, tt.args...)
			p := startDevstack(t, freeAddr(t), args...)
			// /healthz turns ready a moment before main logs the line.
			var line string
			require.Eventually(t, func() bool {
				for _, l := range strings.Split(p.logs.String(), "\n") {
					if strings.Contains(l, `msg="devstack ready"`) {
						line = l
					}
				}
				return line != ""
			}, 10*time.Second, 10*time.Millisecond, "got no ready line in:\n%s", p.logs)
			for _, w := range tt.want {
				if strings.Contains(w, "%s") {
					w = fmt.Sprintf(w, p.addr)
				}
				require.Contains(t, line, w, "got ready line %q, want it to contain %q", line, w)
			}
			for _, w := range tt.notWant {
				require.NotContains(t, line, w, "got ready line %q", line)
			}
		})
	}
}

// TestCredentialsCommand: devstack credentials prints the data directory's keys as
// environment assignments, the developer's unless -service names a service.
func TestCredentialsCommand(t *testing.T) {
	data := t.TempDir()
	tests := []struct {
		name      string
		args      []string
		principal string
		wantErr   bool
	}{
		{name: "developer by default", args: nil, principal: localiam.Developer},
		{name: "a service", args: []string{"-service", "projections"}, principal: localiam.Projections},
		{name: "notifications", args: []string{"-service", "notifications"}, principal: localiam.Notifications},
		{name: "unknown service", args: []string{"-service", "nobody"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(devstackBin, append([]string{"credentials", "-data", data}, tt.args...)...).Output()
			if tt.wantErr {
				require.Error(t, err, "got %q, want an error", out)
				return
			}
			require.NoError(t, err)
			store, err := localiam.Load(filepath.Join(data, localiam.CredentialsFile))
			require.NoError(t, err)
			c, err := store.Credentials(tt.principal)
			require.NoError(t, err)
			want := "AWS_ACCESS_KEY_ID=" + c.AccessKeyID + "\nAWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey + "\n"
			require.Equal(t, want, string(out), "got %q, want %q", out, want)
		})
	}
}
