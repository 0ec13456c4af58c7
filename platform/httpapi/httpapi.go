// Package httpapi is the glue between API Gateway HTTP API (payload 2.0) Lambda
// handlers and the HTTP contract: strict JSON request decoding, JSON responses and
// RFC 9457 problem+json errors.
package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// MaxBodyBytes is the largest request body any route accepts.
const MaxBodyBytes = 1 << 20

// Problem is an RFC 9457 problem details object. It is also an error, so application
// code can return one and handlers turn it into a response unchanged.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// NewProblem builds a problem whose type is a stable URN derived from the status title.
func NewProblem(status int, detail string) *Problem {
	title := http.StatusText(status)
	return &Problem{
		Type:   "urn:concertsys:problem:" + strings.ReplaceAll(strings.ToLower(title), " ", "-"),
		Title:  title,
		Status: status,
		Detail: detail,
	}
}

// ProblemResponse renders p as application/problem+json.
func ProblemResponse(p *Problem, instance string) events.APIGatewayV2HTTPResponse {
	out := *p
	if out.Instance == "" {
		out.Instance = instance
	}
	body, _ := json.Marshal(out) // a Problem of strings and an int always marshals
	return events.APIGatewayV2HTTPResponse{
		StatusCode: out.Status,
		Headers:    map[string]string{"Content-Type": "application/problem+json"},
		Body:       string(body),
	}
}

// JSON renders v with the given status. Marshal errors become a 500 problem since
// they are programming errors, never caused by input.
func JSON(status int, v any, headers map[string]string) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		return ProblemResponse(NewProblem(http.StatusInternalServerError, "response encoding failed"), "")
	}
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range headers {
		h[k] = v
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: h, Body: string(body)}
}

// Header returns a request header case-insensitively (API Gateway lower-cases them,
// but tests and other callers may not).
func Header(req events.APIGatewayV2HTTPRequest, name string) string {
	v, _ := LookupHeader(req.Headers, name)
	return v
}

// LookupHeader finds name in headers case-insensitively, the lower-case spelling
// first; ok tells an absent header from an empty one.
func LookupHeader(headers map[string]string, name string) (value string, ok bool) {
	if v, ok := headers[strings.ToLower(name)]; ok {
		return v, true
	}
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// Body returns the raw request body, decoding base64 when API Gateway encoded it.
func Body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, NewProblem(http.StatusBadRequest, "body is not valid base64")
	}
	return b, nil
}

// DecodeJSON decodes the request body into dst strictly: JSON content type (415),
// at most MaxBodyBytes (413), exactly one JSON object of valid UTF-8 with exact
// (case-sensitive) field names, no duplicate keys, no unknown fields, nesting at most
// MaxNestingDepth and right types (400). Every failure is a *Problem with a specific detail.
func DecodeJSON(req events.APIGatewayV2HTTPRequest, dst any) error {
	ct := Header(req, "Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return NewProblem(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	body, err := Body(req)
	if err != nil {
		return err
	}
	if len(body) > MaxBodyBytes {
		return NewProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", MaxBodyBytes))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return NewProblem(http.StatusBadRequest, "body is empty; a JSON object is required")
	}
	if string(bytes.TrimSpace(body)) == "null" {
		// encoding/json takes a bare null as an object with no fields.
		return NewProblem(http.StatusBadRequest, "body must be a JSON object, got null")
	}
	if err := validateStrict(body, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return NewProblem(http.StatusBadRequest, describeDecodeError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return NewProblem(http.StatusBadRequest, "body must hold a single JSON object")
	}
	return nil
}

func describeDecodeError(err error) string {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at offset %d", syntax.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return fmt.Sprintf("field %q must be %s, got %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
		}
		return fmt.Sprintf("body must be a JSON object, got %s", typeErr.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of body"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return "malformed JSON: " + err.Error()
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	default:
		return goKind
	}
}

// WriteProblem answers a plain net/http request (devstack's own endpoints, not a
// Lambda) with a problem+json body whose instance is the request path.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	p := NewProblem(status, detail)
	p.Instance = r.URL.Path
	WriteJSON(w, status, p, "application/problem+json")
}

// WriteJSON answers a plain net/http request with v as JSON; contentType defaults to
// application/json.
func WriteJSON(w http.ResponseWriter, status int, v any, contentType ...string) {
	ct := "application/json"
	if len(contentType) > 0 {
		ct = contentType[0]
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing left to tell it
}
