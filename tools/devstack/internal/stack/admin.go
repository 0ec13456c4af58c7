package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/concertsys/platform/httpapi"
	"github.com/concertsys/services/projections"
	"github.com/concertsys/tools/local/apigwrequest"
	"github.com/concertsys/tools/local/pipe"
)

// serveJob invokes a job function through the Lambda JSON path, as the console or
// the CLI would invoke it on AWS, and answers its JSON result.
func (s *Stack) serveJob(w http.ResponseWriter, r *http.Request) {
	fn := r.PathValue("function")
	job, ok := s.jobs[fn]
	if !ok {
		httpapi.WriteProblem(w, r, http.StatusNotFound, "no job function "+fn)
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, httpapi.MaxBodyBytes+1))
	if err != nil || len(payload) > httpapi.MaxBodyBytes {
		httpapi.WriteProblem(w, r, http.StatusRequestEntityTooLarge, "payload over 1 MB")
		return
	}
	// A job may run as long as a Lambda may (jobTimeout): longer than the server's
	// WriteTimeout for ordinary requests.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(jobTimeout + time.Minute))
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, "payload is not JSON")
		return
	}
	out, err := job.Invoke(r.Context(), apigwrequest.NewID(), payload)
	if err != nil {
		s.log.Error("job failed", "function", fn, "err", err)
		httpapi.WriteProblem(w, r, http.StatusInternalServerError, "job "+fn+" failed: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// PipeDeadLettersResponse is the body of GET PipeDeadLettersPath.
type PipeDeadLettersResponse struct {
	DeadLetters []pipe.DeadLetter `json:"pipeDeadLetters"`
}

func (s *Stack) servePipeDeadLetters(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		httpapi.WriteProblem(w, r, http.StatusMethodNotAllowed, "use GET to list the pipe's dead letters")
		return
	}
	var dls []pipe.DeadLetter
	if s.pipe != nil {
		var err error
		if dls, err = s.pipe.DeadLetters(); err != nil {
			httpapi.WriteProblem(w, r, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	if dls == nil {
		dls = []pipe.DeadLetter{}
	}
	httpapi.WriteJSON(w, http.StatusOK, PipeDeadLettersResponse{DeadLetters: dls})
}

// servePipeRedrive redrives the pipe's dead letters: {"ids":[...]} or {"all":true},
// as the bus's redrive takes them.
func (s *Stack) servePipeRedrive(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpapi.WriteProblem(w, r, http.StatusMethodNotAllowed, "use POST to redrive the pipe's dead letters")
		return
	}
	var req struct {
		IDs []string `json:"ids,omitempty"`
		All bool     `json:"all,omitempty"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, httpapi.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.All == (len(req.IDs) > 0) {
		httpapi.WriteProblem(w, r, http.StatusBadRequest, `body must be {"ids":[...]} or {"all":true}`)
		return
	}
	n := 0
	if s.pipe != nil {
		var err error
		n, err = s.pipe.Redrive(r.Context(), req.IDs...)
		switch {
		case errors.Is(err, pipe.ErrDeadLetterMissing):
			httpapi.WriteProblem(w, r, http.StatusNotFound, err.Error())
			return
		case err != nil:
			httpapi.WriteProblem(w, r, http.StatusConflict, fmt.Sprintf("redrove %d, then: %v", n, err))
			return
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]int{"redriven": n})
}

// serveRebuildInProcess folds the bus archive into the projections' views in process
// (projections.FoldEvents: the events a replay to the projections rule would deliver,
// at the fold's speed instead of one consumer invocation each) and answers its
// figures. Views only move forward, so it is safe while events keep arriving.
func (s *Stack) serveRebuildInProcess(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(jobTimeout + time.Minute))
	ctx, cancel := context.WithTimeout(r.Context(), jobTimeout)
	defer cancel()
	started := time.Now()
	stats, err := projections.FoldEvents(ctx, s.bus.Archived(ArchiveName), s.views)
	if err != nil {
		s.log.Error("in-process rebuild", "err", err)
		httpapi.WriteProblem(w, r, http.StatusInternalServerError, "rebuild-projections in process: "+err.Error())
		return
	}
	elapsed := time.Since(started)
	httpapi.WriteJSON(w, http.StatusOK, struct {
		projections.RebuildStats
		Seconds      float64 `json:"seconds"`
		EventsPerSec float64 `json:"eventsPerSecond"`
	}{stats, elapsed.Seconds(), float64(stats.Events) / elapsed.Seconds()})
}
