package stack

import (
		"net/http"
)

func (s *Stack) serveRebuild(w http.ResponseWriter, r *http.Request) {
	if s.rebuild == nil {
		writeJSON(w, http.StatusNotImplemented, map[string]string{"message": "projections rebuild not wired"})
		return
	}
	res, err := s.rebuild(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}
