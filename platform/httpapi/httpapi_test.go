package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/platform/httpapi"
)

type order struct {
	Quantity int    `json:"quantity"`
	Note     string `json:"note"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		base64      bool
		wantStatus  int // 0 = success
		wantDetail  string
	}{
		{name: "valid", contentType: "application/json", body: `{"quantity":2,"note":"hi"}`},
		{name: "charset parameter allowed", contentType: "application/json; charset=utf-8", body: `{"quantity":2}`},
		{name: "base64 body", contentType: "application/json", body: base64.StdEncoding.EncodeToString([]byte(`{"quantity":1}`)), base64: true},
		{name: "missing content type", body: `{}`, wantStatus: 415, wantDetail: "application/json"},
		{name: "text/plain", contentType: "text/plain", body: `{}`, wantStatus: 415},
		{name: "empty body", contentType: "application/json", body: "  ", wantStatus: 400, wantDetail: "empty"},
		{name: "malformed", contentType: "application/json", body: `{"quantity":`, wantStatus: 400, wantDetail: "malformed JSON"},
		{name: "syntax error", contentType: "application/json", body: `{"quantity" 2}`, wantStatus: 400, wantDetail: "offset"},
		{name: "wrong type", contentType: "application/json", body: `{"quantity":"two"}`, wantStatus: 400, wantDetail: `"quantity" must be an integer`},
		{name: "null", contentType: "application/json", body: " null ", wantStatus: 400, wantDetail: "got null"},
		{name: "not an object", contentType: "application/json", body: `[1]`, wantStatus: 400, wantDetail: "JSON object"},
		{name: "unknown field", contentType: "application/json", body: `{"quantity":1,"extra":true}`, wantStatus: 400, wantDetail: `unknown field "extra"`},
		{name: "trailing data", contentType: "application/json", body: `{"quantity":1}{}`, wantStatus: 400, wantDetail: "single JSON object"},
		{name: "bad base64", contentType: "application/json", body: "!!!", base64: true, wantStatus: 400, wantDetail: "base64"},
		{name: "oversize", contentType: "application/json", body: `{"note":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`, wantStatus: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := events.APIGatewayV2HTTPRequest{Body: tc.body, IsBase64Encoded: tc.base64, Headers: map[string]string{}}
			if tc.contentType != "" {
				req.Headers["content-type"] = tc.contentType
			}
			var got order
			err := httpapi.DecodeJSON(req, &got)
			if tc.wantStatus == 0 {
				require.NoError(t, err)
				return
			}
			var p *httpapi.Problem
			require.ErrorAs(t, err, &p, "got %v, want a *Problem", err)
			require.Equal(t, tc.wantStatus, p.Status, "got status %d, want %d (%s)", p.Status, tc.wantStatus, p.Detail)
			require.Contains(t, p.Detail, tc.wantDetail)
		})
	}
}

func TestProblemResponse(t *testing.T) {
	resp := httpapi.ProblemResponse(httpapi.NewProblem(http.StatusConflict, "sold out"), "/concerts/1/tickets")
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Headers["Content-Type"])
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &body))
	require.Equal(t, map[string]any{
		"type": "urn:concertsys:problem:conflict", "title": "Conflict", "status": float64(409),
		"detail": "sold out", "instance": "/concerts/1/tickets",
	}, body)
}

func TestHeaderIsCaseInsensitive(t *testing.T) {
	req := events.APIGatewayV2HTTPRequest{Headers: map[string]string{"If-Match": `"3"`}}
	require.Equal(t, `"3"`, httpapi.Header(req, "if-match"))
	require.Equal(t, "", httpapi.Header(req, "idempotency-key"))
}

func TestLookupHeader(t *testing.T) {
	headers := map[string]string{"if-match": `"3"`, "Idempotency-Key": "", "X-Correlation-Id": "abc"}
	tests := []struct {
		name, header, want string
		wantOK             bool
	}{
		{"lower-case key", "If-Match", `"3"`, true},
		{"mixed-case key", "x-correlation-id", "abc", true},
		{"present but empty", "idempotency-key", "", true},
		{"absent", "Authorization", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := httpapi.LookupHeader(headers, tt.header)
			require.Equal(t, tt.want, got, "got %q want %q", got, tt.want)
			require.Equal(t, tt.wantOK, ok, "got ok=%v want %v", ok, tt.wantOK)
		})
	}
}

// A handler decodes strictly and answers problems as problem+json.
func ExampleDecodeJSON() {
	req := events.APIGatewayV2HTTPRequest{
		Headers: map[string]string{"content-type": "application/json"},
		Body:    `{"quantity":"two"}`,
	}
	var body struct {
		Quantity int `json:"quantity"`
	}
	if err := httpapi.DecodeJSON(req, &body); err != nil {
		var p *httpapi.Problem
		if errors.As(err, &p) {
			resp := httpapi.ProblemResponse(p, "/concerts/1/tickets")
			fmt.Println(resp.StatusCode, resp.Headers["Content-Type"])
			fmt.Println(p.Detail)
		}
	}
	// Output:
	// 400 application/problem+json
	// field "quantity" must be an integer, got string
}

func TestWriteProblemAndJSON(t *testing.T) {
	tests := []struct {
		name     string
		write    func(w http.ResponseWriter, r *http.Request)
		wantCode int
		wantType string
		wantBody string
	}{
		{"problem", func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteProblem(w, r, http.StatusNotFound, "no dead letter d1")
		}, 404, "application/problem+json",
			`{"type":"urn:concertsys:problem:not-found","title":"Not Found","status":404,"detail":"no dead letter d1","instance":"/_aws/events/dead-letters"}`},
		{"json", func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteJSON(w, http.StatusOK, map[string]int{"redriven": 2})
		}, 200, "application/json", `{"redriven":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.write(rec, httptest.NewRequest(http.MethodPost, "/_aws/events/dead-letters", nil))
			require.Equal(t, tc.wantCode, rec.Code)
			require.Equal(t, tc.wantType, rec.Header().Get("Content-Type"))
			require.JSONEq(t, tc.wantBody, rec.Body.String())
		})
	}
}
