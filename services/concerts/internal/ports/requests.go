package ports

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/concertsys/platform/httpapi"

	"github.com/concertsys/services/concerts/internal/app"
)

// Request bodies. Pointers tell a missing field from a zero value; startsAt is a
// string so that a bad date gets its own message rather than a JSON decoder's.
type scheduleRequest struct {
	Artist     *string `json:"artist"`
	Venue      *string `json:"venue"`
	StartsAt   *string `json:"startsAt"`
	Capacity   *int    `json:"capacity"`
	PriceCents *int64  `json:"priceCents"`
}

type updateRequest struct {
	Artist     *string `json:"artist"`
	Venue      *string `json:"venue"`
	PriceCents *int64  `json:"priceCents"`
}

type rescheduleRequest struct {
	StartsAt *string `json:"startsAt"`
}

type ticketsRequest struct {
	Quantity *int `json:"quantity"`
}

type cancelRequest struct {
	Reason *string `json:"reason"`
}

func (h *HTTP) decodeSchedule(req events.APIGatewayV2HTTPRequest) (run, error) {
	var body scheduleRequest
	if err := httpapi.DecodeJSON(req, &body); err != nil {
		return nil, err
	}
	if err := required(map[string]bool{"artist": body.Artist != nil, "venue": body.Venue != nil,
		"startsAt": body.StartsAt != nil, "capacity": body.Capacity != nil, "priceCents": body.PriceCents != nil}); err != nil {
		return nil, err
	}
	if err := checkText(map[string]*string{"artist": body.Artist, "venue": body.Venue}); err != nil {
		return nil, err
	}
	startsAt, err := parseStartsAt(*body.StartsAt)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
		return h.uc.ScheduleConcert.Handle(ctx, app.ScheduleConcertInput{ID: id, Artist: *body.Artist, Venue: *body.Venue,
			StartsAt: startsAt, Capacity: *body.Capacity, PriceCents: *body.PriceCents, Meta: meta})
	}, nil
}

func (h *HTTP) decodeUpdate(req events.APIGatewayV2HTTPRequest) (run, error) {
	var body updateRequest
	if err := httpapi.DecodeJSON(req, &body); err != nil {
		return nil, err
	}
	if body.Artist == nil && body.Venue == nil && body.PriceCents == nil {
		return nil, httpapi.NewProblem(http.StatusBadRequest, `body must set at least one of "artist", "venue", "priceCents"`)
	}
	if err := checkText(map[string]*string{"artist": body.Artist, "venue": body.Venue}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
		return h.uc.UpdateConcert.Handle(ctx, app.UpdateConcertInput{ID: id, Artist: body.Artist, Venue: body.Venue, PriceCents: body.PriceCents, Meta: meta})
	}, nil
}

func (h *HTTP) decodeReschedule(req events.APIGatewayV2HTTPRequest) (run, error) {
	var body rescheduleRequest
	if err := httpapi.DecodeJSON(req, &body); err != nil {
		return nil, err
	}
	if err := required(map[string]bool{"startsAt": body.StartsAt != nil}); err != nil {
		return nil, err
	}
	startsAt, err := parseStartsAt(*body.StartsAt)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
		return h.uc.RescheduleConcert.Handle(ctx, app.RescheduleConcertInput{ID: id, StartsAt: startsAt, Meta: meta})
	}, nil
}

func (h *HTTP) decodeTickets(req events.APIGatewayV2HTTPRequest) (run, error) {
	var body ticketsRequest
	if err := httpapi.DecodeJSON(req, &body); err != nil {
		return nil, err
	}
	if err := required(map[string]bool{"quantity": body.Quantity != nil}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
		return h.uc.SellTickets.Handle(ctx, app.SellTicketsInput{ID: id, Quantity: *body.Quantity, Meta: meta})
	}, nil
}

func (h *HTTP) decodeCancel(req events.APIGatewayV2HTTPRequest) (run, error) {
	var body cancelRequest
	if err := httpapi.DecodeJSON(req, &body); err != nil {
		return nil, err
	}
	if err := required(map[string]bool{"reason": body.Reason != nil}); err != nil {
		return nil, err
	}
	if err := checkText(map[string]*string{"reason": body.Reason}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, id string, meta app.Meta) (app.Result, error) {
		return h.uc.CancelConcert.Handle(ctx, app.CancelConcertInput{ID: id, Reason: *body.Reason, Meta: meta})
	}, nil
}

// required reports every missing field at once, so a client fixes them in one go.
func required(fields map[string]bool) error {
	var missing []string
	for name, present := range fields {
		if !present {
			missing = append(missing, strconv.Quote(name))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	if len(missing) == 1 {
		return httpapi.NewProblem(http.StatusBadRequest, fmt.Sprintf("field %s is required", missing[0]))
	}
	return httpapi.NewProblem(http.StatusBadRequest, "fields "+strings.Join(missing, ", ")+" are required")
}

// checkText refuses control and bidi override characters in the set text fields, in
// name order so the answer is deterministic.
func checkText(fields map[string]*string) error {
	names := make([]string, 0, len(fields))
	for name, v := range fields {
		if v != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if err := httpapi.CheckText(name, *fields[name]); err != nil {
			return err
		}
	}
	return nil
}

// rfc3339Pattern is RFC 3339's date-time grammar (section 5.6). time.Parse alone only
// approximates it: it also takes one-digit hours, "," before the fraction and offsets
// such as +24:00 or +05:60, and refuses the lower-case "t" and "z" the RFC allows.
var rfc3339Pattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`)

func parseStartsAt(s string) (time.Time, error) {
	bad := httpapi.NewProblem(http.StatusBadRequest,
		`field "startsAt" must be an RFC 3339 date-time such as "2026-09-12T20:00:00Z"`)
	if !rfc3339Pattern.MatchString(s) {
		return time.Time{}, bad
	}
	// The pattern leaves the ranges of month, day, hour, minute and second to
	// time.Parse; upper-casing only touches "t" and "z".
	t, err := time.Parse(time.RFC3339, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, bad
	}
	return t.UTC(), nil
}

var (
	ifMatchPattern = regexp.MustCompile(`^"(0|[1-9][0-9]{0,17})"$`)
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// parseIfMatch accepts `"<version>"` or `*` (any version: no check).
func parseIfMatch(req events.APIGatewayV2HTTPRequest) (*int64, error) {
	raw, ok := httpapi.LookupHeader(req.Headers, "If-Match")
	if !ok {
		return nil, nil
	}
	v := strings.TrimSpace(raw)
	if v == "*" {
		return nil, nil
	}
	m := ifMatchPattern.FindStringSubmatch(v)
	if m == nil {
		return nil, httpapi.NewProblem(http.StatusBadRequest, `If-Match must be a single quoted version such as "3"`)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return nil, httpapi.NewProblem(http.StatusBadRequest, `If-Match must be a single quoted version such as "3"`)
	}
	return &n, nil
}

// visibleASCII bounds header values that end up in logs, records and events.
func visibleASCII(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// MaxCorrelationIDLen bounds the X-Correlation-Id header.
const MaxCorrelationIDLen = 128

func correlationID(req events.APIGatewayV2HTTPRequest) (string, error) {
	v, ok := httpapi.LookupHeader(req.Headers, "X-Correlation-Id")
	if !ok {
		return req.RequestContext.RequestID, nil
	}
	if !visibleASCII(v, MaxCorrelationIDLen) {
		return "", httpapi.NewProblem(http.StatusBadRequest,
			fmt.Sprintf("X-Correlation-Id must be 1..%d visible ASCII characters", MaxCorrelationIDLen))
	}
	return v, nil
}

func parseQueryInt(q map[string]string, name string, lo, hi, def int64) (int64, error) {
	raw, ok := q[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, httpapi.NewProblem(http.StatusBadRequest,
			fmt.Sprintf("query parameter %q must be an integer between %d and %d", name, lo, hi))
	}
	return n, nil
}

// eventsCursorPrefix versions the history cursor's format.
const eventsCursorPrefix = "h1:"

// maxEventsCursorChars bounds what is even decoded; issued cursors are far shorter.
const maxEventsCursorChars = 256

// encodeEventsCursor makes the opaque history cursor: the concert id and the last
// version served, base64url. It is not signed (the list cursor is): it carries only a
// concert's id and a version number, both public in the page itself, so a forged one
// can only ask for another page of the same public history. Binding the id makes a
// cursor of one concert a 400 on another.
func encodeEventsCursor(id string, version int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(eventsCursorPrefix + id + ":" + strconv.FormatInt(version, 10)))
}

// decodeEventsCursor is encodeEventsCursor's inverse; anything it did not issue for
// this concert is a 400.
func decodeEventsCursor(id, cursor string) (int64, error) {
	bad := httpapi.NewProblem(http.StatusBadRequest, `query parameter "cursor" is not a cursor this API issued for this concert; pass "nextCursor" from the previous page`)
	if len(cursor) > maxEventsCursorChars {
		return 0, bad
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil {
		return 0, bad
	}
	rest, ok := strings.CutPrefix(string(raw), eventsCursorPrefix+id+":")
	if !ok {
		return 0, bad
	}
	v, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || v < 1 || strconv.FormatInt(v, 10) != rest {
		return 0, bad
	}
	return v, nil
}
