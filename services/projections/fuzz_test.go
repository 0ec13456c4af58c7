package projections_test

import (
	"context"
	"net/http"
	"testing"

	projections "github.com/concertsys/services/projections"
)

// FuzzQueryRoutesNeverFail5xx: whatever the id and query parameters, the routes
// answer 200, 304, 400 or 404, never a server error. `go test` runs the seeds;
// `go test -fuzz FuzzQueryRoutes` explores.
func FuzzQueryRoutesNeverFail5xx(f *testing.F) {
	f.Add("c000", "scheduled", "10", "", "")
	f.Add("", "", "", "", "")
	f.Add("c001", "soldout", "0", "eyJzIjoiIiwicCI6IngifQ.AAAA", `"1"`)
	f.Add("\x00", "SCHEDULED", "1e3", "..", "*")
	f.Add("c\xff", "cancelled", "100", "eyJzIjoiY2FuY2VsbGVkIn0.", `W/"x"`)
	s := newStackT(f)
	s.seed(f, 3)
	getConcert, listConcerts := s.route(f, projections.RouteGetConcert), s.route(f, projections.RouteListConcerts)
	f.Fuzz(func(t *testing.T, id, status, limit, cursor, ifNoneMatch string) {
		ctx := context.Background()
		resp, err := getConcert(ctx, get(id, map[string]string{"if-none-match": ifNoneMatch}))
		if err != nil || !allowed(resp.StatusCode) {
			t.Fatalf("GET /concerts/%q: got %d %v, want 200/304/404", id, resp.StatusCode, err)
		}
		resp, err = listConcerts(ctx, list(map[string]string{"status": status, "limit": limit, "cursor": cursor}))
		if err != nil || !allowed(resp.StatusCode) {
			t.Fatalf("GET /concerts?status=%q&limit=%q&cursor=%q: got %d %v", status, limit, cursor, resp.StatusCode, err)
		}
	})
}

func allowed(status int) bool {
	switch status {
	case http.StatusOK, http.StatusNotModified, http.StatusBadRequest, http.StatusNotFound:
		return true
	}
	return false
}
