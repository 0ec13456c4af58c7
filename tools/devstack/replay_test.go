package main_test

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/projections"
)

// TestReplayCommandRedeliversHistory runs `devstack replay` against a running devstack:
// the archive devstack starts with holds every event, the replay re-delivers them to
// the projections rule only, and the idempotent projector leaves the view unchanged.
func TestReplayCommandRedeliversHistory(t *testing.T) {
	data := t.TempDir()
	addr := freeAddr(t)
	p := startDevstack(t, addr, "-data", data, "-auth=off")

	res := do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(
		`{"artist":"Replay","venue":"Archive Hall","startsAt":%q,"capacity":100,"priceCents":100}`, future(48*time.Hour)))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var w written
	res.json(t, &w)
	for range 3 {
		res := do(t, http.MethodPost, p.url+"/concerts/"+w.ID+"/tickets", `{"quantity":2}`)
		require.Equal(t, 2, res.status/100, "%s", res.body)
	}
	var before view
	eventually(t, "the view to count the sales", func() error {
		res := do(t, http.MethodGet, p.url+"/concerts/"+w.ID, "")
		if res.status != http.StatusOK {
			return fmt.Errorf("GET: %d %s", res.status, res.body)
		}
		res.json(t, &before)
		if before.TicketsSold != 6 || before.Version != 4 {
			return fmt.Errorf("got %d sold at version %d, want 6 at version 4", before.TicketsSold, before.Version)
		}
		return nil
	})
	delivered := func() uint64 { return busDelivered(t, p) }
	var base uint64
	eventually(t, "live deliveries to settle", func() error {
		a := delivered()
		time.Sleep(300 * time.Millisecond)
		if base = delivered(); a != base {
			return fmt.Errorf("still delivering: %d then %d", a, base)
		}
		return nil
	})

	out, err := exec.Command(devstackBin, "replay", "-addr", addr, "-data", data, "-rules", projections.SubscriptionName).CombinedOutput()
	require.NoErrorf(t, err, "devstack replay: %s", out)
	require.Containsf(t, string(out), "COMPLETED", "got output %q, want the replay to complete", out)

	// The four events of the concert reach the projections rule again, and only it.
	eventually(t, "the replayed deliveries", func() error {
		if got := delivered() - base; got != 4 {
			return fmt.Errorf("got %d replayed deliveries, want 4", got)
		}
		return nil
	})
	var after view
	do(t, http.MethodGet, p.url+"/concerts/"+w.ID, "").json(t, &after)
	require.Equalf(t, before, after, "got view %+v after the replay, want it unchanged %+v", after, before)

	out, err = exec.Command(devstackBin, "replay", "-addr", addr, "-data", data, "-rules", "no-such-rule").CombinedOutput()
	require.Error(t, err)
	require.Truef(t, strings.Contains(string(out), "ResourceNotFoundException"), "got %q, want ResourceNotFoundException", out)
}
