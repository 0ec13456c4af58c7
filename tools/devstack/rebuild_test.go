package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRebuildFromTheArchiveAfterTheReadModelIsLost: the projections' read model is
// deleted while devstack is down; after the restart rebuild-projections replays the
// bus archive to the projections rule and every view comes back byte-identical
// (GET /concerts/{id}, including version and updatedAt), without the projections
// service reading the concerts event log. The in-process fold over the same archive
// then rewrites every view unchanged.
func TestRebuildFromTheArchiveAfterTheReadModelIsLost(t *testing.T) {
	data, addr := t.TempDir(), freeAddr(t)
	p := startDevstack(t, addr, "-data", data, "-auth=off")
	var ids []string
	for c := range 3 {
		id := scheduleConcert(t, p, fmt.Sprintf("Rebuilt %d", c))
		for range 4 + c {
			sellOne(t, p, id)
		}
		ids = append(ids, id)
	}
	res := do(t, http.MethodPost, p.url+"/concerts/"+ids[0]+"/cancel", `{"reason":"rain"}`)
	require.Equal(t, http.StatusOK, res.status, "cancel: %s", res.body)
	want := map[string]string{}
	for _, id := range ids {
		want[id] = settledView(t, p, id)
	}
	require.NoError(t, p.stop(syscall.SIGTERM))

	require.NoError(t, os.Remove(filepath.Join(data, "projections.db")))
	p = startDevstack(t, addr, "-data", data, "-auth=off")
	for _, id := range ids {
		require.Equal(t, http.StatusNotFound, do(t, http.MethodGet, p.url+"/concerts/"+id, "").status, "the read model is gone")
	}
	out, err := exec.Command(devstackBin, "rebuild-projections", "-addr", p.addr).Output()
	require.NoError(t, err)
	var replay struct{ State string }
	require.NoError(t, json.Unmarshal(out, &replay), "rebuild-projections printed %s", out)
	require.Equal(t, "COMPLETED", replay.State, "rebuild-projections printed %s", out)
	for _, id := range ids {
		eventually(t, "view "+id+" rebuilt", func() error {
			if got := string(do(t, http.MethodGet, p.url+"/concerts/"+id, "").body); got != want[id] {
				return fmt.Errorf("got %s, want %s", got, want[id])
			}
			return nil
		})
	}

	out, err = exec.Command(devstackBin, "rebuild-projections", "-addr", p.addr, "-in-process").Output()
	require.NoError(t, err)
	var stats struct{ Concerts, Written int }
	require.NoError(t, json.Unmarshal(out, &stats), "rebuild-projections -in-process printed %s", out)
	require.Equal(t, len(ids), stats.Written, "got %s", out)
	for _, id := range ids {
		require.Equal(t, want[id], string(do(t, http.MethodGet, p.url+"/concerts/"+id, "").body), "view %s after the in-process fold", id)
	}
}

// settledView is the view of id once it shows the concert's last version.
func settledView(t *testing.T, p *proc, id string) string {
	t.Helper()
	var last struct {
		Events []struct{ Version int64 } `json:"events"`
	}
	do(t, http.MethodGet, p.url+"/concerts/"+id+"/events?limit=1000", "").json(t, &last)
	require.NotEmpty(t, last.Events)
	version := last.Events[len(last.Events)-1].Version
	var body string
	eventually(t, "view "+id+" settled", func() error {
		res := do(t, http.MethodGet, p.url+"/concerts/"+id, "")
		var v struct{ Version int64 }
		if err := json.Unmarshal(res.body, &v); err != nil || v.Version != version {
			return fmt.Errorf("view %s: %s, want version %d", id, res.body, version)
		}
		body = string(res.body)
		return nil
	})
	return body
}
