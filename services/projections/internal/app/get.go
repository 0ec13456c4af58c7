package app

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/concertsys/services/projections/viewevents"
)

// maxIDBytes bounds a concert id; a longer one cannot exist (and DynamoDB would reject
// it as a key), so it is simply not found.
const maxIDBytes = 1024

// GetConcert answers GET /concerts/{id}.
type GetConcert struct {
	views ViewStore
}

// NewGetConcert wires the query.
func NewGetConcert(views ViewStore) *GetConcert { return &GetConcert{views: views} }

// Handle returns the view of one concert, or an error wrapping ErrNotFound.
func (q *GetConcert) Handle(ctx context.Context, concertID string) (viewevents.ConcertViewV1, error) {
	if concertID == "" || len(concertID) > maxIDBytes || !utf8.ValidString(concertID) {
		return viewevents.ConcertViewV1{}, fmt.Errorf("get concert %q: %w", concertID, ErrNotFound)
	}
	rec, err := q.views.Get(ctx, concertID)
	if err != nil {
		return viewevents.ConcertViewV1{}, fmt.Errorf("get concert %s: %w", concertID, err)
	}
	return rec.View, nil
}
