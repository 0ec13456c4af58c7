package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/concertsys/services/projections/viewevents"
)

// List limits.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// ErrInvalidQuery: a query parameter is malformed or out of range (a 400).
var ErrInvalidQuery = errors.New("invalid query")

// InvalidQueryError says which parameter is wrong, in words fit for the client.
type InvalidQueryError struct {
	Detail string
}

func (e *InvalidQueryError) Error() string { return "invalid query: " + e.Detail }

// Is makes errors.Is(err, ErrInvalidQuery) hold.
func (e *InvalidQueryError) Is(target error) bool { return target == ErrInvalidQuery }

// ListConcerts answers GET /concerts.
type ListConcerts struct {
	views   ViewStore
	cursors *CursorCodec
}

// NewListConcerts wires the query.
func NewListConcerts(views ViewStore, cursors *CursorCodec) *ListConcerts {
	return &ListConcerts{views: views, cursors: cursors}
}

// ListParams are the raw query parameters; "" means absent.
type ListParams struct {
	Status string
	Limit  string
	Cursor string
}

// Page is one page of the list; NextCursor is "" on the last page.
type Page struct {
	Items      []viewevents.ConcertViewV1 `json:"items"`
	NextCursor string                     `json:"nextCursor,omitempty"`
}

// Handle validates the parameters (errors wrap ErrInvalidQuery with a specific
// message) and returns one page in (startsAt, id) order.
func (q *ListConcerts) Handle(ctx context.Context, p ListParams) (Page, error) {
	switch p.Status {
	case "", viewevents.StatusScheduled, viewevents.StatusSoldOut, viewevents.StatusCancelled:
	default:
		return Page{}, &InvalidQueryError{Detail: "status must be one of scheduled, soldout, cancelled"}
	}
	limit := DefaultLimit
	if p.Limit != "" {
		n, err := strconv.Atoi(p.Limit)
		if err != nil || n < 1 || n > MaxLimit {
			return Page{}, &InvalidQueryError{Detail: fmt.Sprintf("limit must be an integer from 1 to %d", MaxLimit)}
		}
		limit = n
	}
	var after string
	if p.Cursor != "" {
		pos, err := q.cursors.Decode(p.Cursor, p.Status)
		if err != nil {
			return Page{}, &InvalidQueryError{Detail: err.Error()}
		}
		after = pos
	}
	page, err := q.views.List(ctx, ListQuery{Status: p.Status, After: after, Limit: limit})
	if err != nil {
		return Page{}, fmt.Errorf("list concerts: %w", err)
	}
	out := Page{Items: page.Items}
	if out.Items == nil {
		out.Items = []viewevents.ConcertViewV1{}
	}
	if page.Next != "" {
		out.NextCursor = q.cursors.Encode(p.Status, page.Next)
	}
	return out, nil
}
