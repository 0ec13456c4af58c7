// Package app holds the projection's use cases, one file per handler: applying concert
// events (project.go), the queries (get.go, list.go), publishing ConcertViewUpdated
// (publish.go) and rebuilding from the bus archive (rebuild.go, fold.go). The ports they need
// are declared here, where they are used.
package app

import (
	"context"
	"errors"
	"time"

	"github.com/concertsys/services/projections/viewevents"
)

var (
	// ErrNotFound: no view of that concert.
	ErrNotFound = errors.New("concert view not found")
	// ErrConflict: the stored view's version is not the expected one (another writer
	// got there first); reload and retry.
	ErrConflict = errors.New("concert view version conflict")
)

// Record is a view as stored, with what publishing needs next to it.
type Record struct {
	View viewevents.ConcertViewV1
	// LastEventID and LastCorrelationID identify the last applied event; a
	// ConcertViewUpdated for this version carries them as causation and correlation.
	LastEventID       string
	LastCorrelationID string
	// PublishedVersion is the highest view version announced on the bus. Below
	// View.Version means a publish is owed (an outbox of one entry per view).
	PublishedVersion int64
}

// ViewStore is the read model store.
type ViewStore interface {
	// Get returns the record of a concert, or an error wrapping ErrNotFound.
	Get(ctx context.Context, concertID string) (Record, error)
	// Put stores rec.View if the stored view's version equals expected (0: none
	// stored), else fails with ErrConflict, so concurrent writers can never move a
	// view backwards. rec.PublishedVersion is ignored: the stored one is kept (0 for a
	// new view); only MarkPublished changes it.
	Put(ctx context.Context, rec Record, expected int64) error
	// MarkPublished raises PublishedVersion to version (never lowers it). ErrNotFound
	// when there is no view.
	MarkPublished(ctx context.Context, concertID string, version int64) error
	// List returns up to q.Limit views in (startsAt, id) order strictly after the
	// position q.After ("" = from the start), only of q.Status if set. Next is the
	// position of the last item when more items follow, else "".
	List(ctx context.Context, q ListQuery) (ListPage, error)
}

// ListQuery selects a page of views.
type ListQuery struct {
	Status string // "" or one of the viewevents statuses
	After  string // a Position, or "" for the first page
	Limit  int    // >= 1
}

// ListPage is one page of views.
type ListPage struct {
	Items []viewevents.ConcertViewV1
	Next  string
}

// positionTimeLayout is fixed width, so positions sort by time as strings.
const positionTimeLayout = "2006-01-02T15:04:05.000000000Z"

// Position is a view's place in list order: startsAt (fixed-width UTC), then id.
// Stores index views by it, and cursors carry it.
func Position(v viewevents.ConcertViewV1) string {
	return v.StartsAt.UTC().Format(positionTimeLayout) + "#" + v.ID
}

// ValidPosition reports whether p has the shape Position produces.
func ValidPosition(p string) bool {
	n := len(positionTimeLayout)
	if len(p) < n+2 || p[n] != '#' {
		return false
	}
	_, err := time.Parse(positionTimeLayout, p[:n])
	return err == nil
}
