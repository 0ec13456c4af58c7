// Package devstackproc holds what programs that run devstack as a child process (its
// process tests, loadgen) need to find it listening: a free address to give it and a
// readiness check that knows the process it asks about.
package devstackproc

import (
	"encoding/json"
	"net"
	"net/http"
)

// FreeAddr is a loopback address with a port free at the time of the call. Another
// process may take the port before devstack binds it, which ServedBy detects.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// ServedBy says whether the devstack at baseURL is ready and is the process pid, not
// another one that took the port first.
func ServedBy(baseURL string, pid int) bool {
	resp, err := http.Get(baseURL + "/healthz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var health struct{ PID int }
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&health) == nil && health.PID == pid
}
