package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/sales"
	"github.com/concertsys/tools/local/bus"
	"github.com/concertsys/tools/local/localiam"
)

// salesView is GET /concerts/{id}/sales.
type salesView struct {
	ID    string `json:"id"`
	Hours []struct {
		Hour    time.Time `json:"hour"`
		Tickets int64     `json:"tickets"`
		Sales   int64     `json:"sales"`
	} `json:"hours"`
	Totals struct {
		Tickets int64 `json:"tickets"`
		Sales   int64 `json:"sales"`
	} `json:"totals"`
}

// wantSales is the sales view the concert's own history (the concerts service's
// events API) implies: tickets and sales per hour of each TicketsSold.
func wantSales(t *testing.T, base, id string) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	for _, ev := range history(t, base, id, 100) {
		if ev.Type != "TicketsSold" {
			continue
		}
		var d struct{ Quantity int64 }
		require.NoError(t, json.Unmarshal(ev.Data, &d))
		h := ev.OccurredAt.UTC().Truncate(time.Hour).Format(time.RFC3339)
		out[h] = [2]int64{out[h][0] + d.Quantity, out[h][1] + 1}
	}
	return out
}

func salesMatch(t *testing.T, base, id string) error {
	res := do(t, http.MethodGet, base+"/concerts/"+id+"/sales", "")
	if res.status != http.StatusOK {
		return fmt.Errorf("GET sales: %d %s", res.status, res.body)
	}
	var v salesView
	res.json(t, &v)
	want := wantSales(t, base, id)
	got := map[string][2]int64{}
	var tickets, sales int64
	for _, h := range v.Hours {
		got[h.Hour.UTC().Format(time.RFC3339)] = [2]int64{h.Tickets, h.Sales}
		tickets, sales = tickets+h.Tickets, sales+h.Sales
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || v.Totals.Tickets != tickets || v.Totals.Sales != sales {
		return fmt.Errorf("got hours %v totals %+v, want hours %v with their sums", got, v.Totals, want)
	}
	return nil
}

// The sales service deployed after the fact: sales happen while devstack runs without
// it; started on the same data directory, it catches up through a replay of the bus
// archive to its rule, then follows live sales; its hourly totals match the concerts'
// own history for both, also after another restart (the catch-up runs once).
func TestSalesCatchesUpByReplayThenFollowsLive(t *testing.T) {
	data := t.TempDir()
	addr := freeAddr(t)
	p := startDevstack(t, addr, "-data", data, "-auth=off", "-services", "concerts,projections,notifications")

	res := do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(
		`{"artist":"Late Service","venue":"Replay Hall","startsAt":%q,"capacity":100,"priceCents":100}`, future(48*time.Hour)))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var w written
	res.json(t, &w)
	for _, q := range []int{2, 3} {
		res := do(t, http.MethodPost, p.url+"/concerts/"+w.ID+"/tickets", fmt.Sprintf(`{"quantity":%d}`, q))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	}
	res = do(t, http.MethodGet, p.url+"/concerts/"+w.ID+"/sales", "")
	require.Equal(t, http.StatusNotFound, res.status, "got %d %s without the sales service, want no such route", res.status, res.body)
	eventually(t, "the read model to see both sales (so they are on the bus and in its archive)", func() error {
		var v view
		if res := do(t, http.MethodGet, p.url+"/concerts/"+w.ID, ""); res.status == http.StatusOK {
			res.json(t, &v)
		}
		if v.TicketsSold != 5 {
			return fmt.Errorf("got %d sold, want 5", v.TicketsSold)
		}
		return nil
	})
	require.NoError(t, p.stop(syscall.SIGTERM))

	p = startDevstack(t, addr, "-data", data, "-auth=off") // every service: sales added
	eventually(t, "the catch-up replay to count the earlier sales", func() error { return salesMatch(t, p.url, w.ID) })
	var v salesView
	do(t, http.MethodGet, p.url+"/concerts/"+w.ID+"/sales", "").json(t, &v)
	require.Equal(t, int64(5), v.Totals.Tickets, "got %+v after the catch-up", v.Totals)
	require.Equal(t, int64(2), v.Totals.Sales, "got %+v after the catch-up", v.Totals)

	res = do(t, http.MethodPost, p.url+"/concerts/"+w.ID+"/tickets", `{"quantity":4}`)
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	eventually(t, "the live sale to count", func() error {
		if err := salesMatch(t, p.url, w.ID); err != nil {
			return err
		}
		var v salesView
		do(t, http.MethodGet, p.url+"/concerts/"+w.ID+"/sales", "").json(t, &v)
		if v.Totals.Tickets != 9 || v.Totals.Sales != 3 {
			return fmt.Errorf("got totals %+v, want 9 tickets in 3 sales", v.Totals)
		}
		return nil
	})

	// The whole history once more, to the sales rule: nothing counts twice.
	out, err := exec.Command(devstackBin, "replay", "-addr", addr, "-data", data, "-rules", sales.SubscriptionName).CombinedOutput()
	require.NoErrorf(t, err, "devstack replay: %s", out)
	require.Containsf(t, string(out), "COMPLETED", "got output %q, want the replay to complete", out)
	settle(t, p)
	do(t, http.MethodGet, p.url+"/concerts/"+w.ID+"/sales", "").json(t, &v)
	require.Equal(t, int64(9), v.Totals.Tickets, "got %+v after replaying the history again, want 9 tickets", v.Totals)
	require.Equal(t, int64(3), v.Totals.Sales, "got %+v after replaying the history again, want 3 sales", v.Totals)

	res = do(t, http.MethodPost, p.url+"/concerts", fmt.Sprintf(
		`{"artist":"No Sales Yet","venue":"Replay Hall","startsAt":%q,"capacity":10,"priceCents":100}`, future(48*time.Hour)))
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	var quiet written
	res.json(t, &quiet)
	eventually(t, "a scheduled concert without sales to be known", func() error {
		res := do(t, http.MethodGet, p.url+"/concerts/"+quiet.ID+"/sales", "")
		if res.status != http.StatusOK {
			return fmt.Errorf("got %d %s", res.status, res.body)
		}
		return nil
	})
	for _, tc := range []struct {
		name, id string
		status   int
	}{
		{name: "unknown concert", id: "no-such-concert", status: http.StatusNotFound},
		{name: "bad id", id: "bad%20id", status: http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, http.MethodGet, p.url+"/concerts/"+tc.id+"/sales", "")
			require.Equal(t, tc.status, res.status, "got %d %s want %d", res.status, res.body, tc.status)
			require.Equal(t, "application/problem+json", res.header.Get("Content-Type"), "got %s", res.body)
		})
	}

	require.NoError(t, p.stop(syscall.SIGTERM))
	p = startDevstack(t, addr, "-data", data, "-auth=off")
	var again salesView
	do(t, http.MethodGet, p.url+"/concerts/"+w.ID+"/sales", "").json(t, &again)
	require.Equal(t, int64(9), again.Totals.Tickets, "got %+v after a restart, want the catch-up not to count twice", again.Totals)
	require.NoError(t, salesMatch(t, p.url, w.ID))
}

// settle waits until the bus has delivered everything it holds: its delivered count
// stops moving.
func settle(t *testing.T, p *proc) {
	t.Helper()
	delivered := func() uint64 { return busDelivered(t, p) }
	eventually(t, "deliveries to settle", func() error {
		a := delivered()
		time.Sleep(300 * time.Millisecond)
		if b := delivered(); a != b {
			return fmt.Errorf("still delivering: %d then %d", a, b)
		}
		return nil
	})
}

// busDelivered is the bus's delivered count (/_aws/events/stats, developer key).
func busDelivered(t *testing.T, p *proc) uint64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.url+"/_aws/events/stats", nil)
	require.NoError(t, err)
	p.signAs(t, req, localiam.Developer)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var st bus.Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st.Delivered
}
