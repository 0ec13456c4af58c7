package apigwrequest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/apigwrequest"
)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := apigwrequest.NewID()
		require.Regexp(t, `^[A-Za-z0-9]{15}=$`, id)
		require.False(t, seen[id], "got %s twice, want unique ids", id)
		seen[id] = true
	}
}

func TestSourceIP(t *testing.T) {
	tests := []struct {
		name, remoteAddr, want string
	}{
		{"ipv4 with port", "127.0.0.1:52311", "127.0.0.1"},
		{"ipv6 with port", "[::1]:52311", "::1"},
		{"no port", "10.0.0.7", "10.0.0.7"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := apigwrequest.SourceIP(&http.Request{RemoteAddr: tt.remoteAddr})
			require.Equal(t, tt.want, got, "got %q for %q, want %q", got, tt.remoteAddr, tt.want)
		})
	}
}

// The gateways put the caller's address, without its port, into the event.
func ExampleSourceIP() {
	r := &http.Request{RemoteAddr: "192.0.2.10:40112"}
	fmt.Println(apigwrequest.SourceIP(r))
	// Output: 192.0.2.10
}
