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

func TestDecodeJSONStrict(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type nested struct {
		Quantity int               `json:"quantity"`
		Inner    *inner            `json:"inner"`
		List     []inner           `json:"list"`
		Tags     map[string]string `json:"tags"`
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int // 0 = success
		wantDetail string
	}{
		{name: "exact names", body: `{"quantity":1,"inner":{"name":"a"},"list":[{"name":"b"}],"tags":{"A":"1","a":"2"}}`},
		{name: "upper-case name", body: `{"QUANTITY":1}`, wantStatus: 400, wantDetail: `unknown field "QUANTITY"`},
		{name: "mixed-case name", body: `{"Quantity":1}`, wantStatus: 400, wantDetail: `unknown field "Quantity"`},
		{name: "nested wrong case", body: `{"inner":{"Name":"a"}}`, wantStatus: 400, wantDetail: `unknown field "inner.Name"`},
		{name: "wrong case in array", body: `{"list":[{"NAME":"a"}]}`, wantStatus: 400, wantDetail: `unknown field "list[0].NAME"`},
		{name: "duplicate key", body: `{"quantity":1,"quantity":2}`, wantStatus: 400, wantDetail: `duplicate field "quantity"`},
		{name: "duplicate nested key", body: `{"inner":{"name":"a","name":"b"}}`, wantStatus: 400, wantDetail: `duplicate field "inner.name"`},
		{name: "duplicate map key", body: `{"tags":{"x":"1","x":"2"}}`, wantStatus: 400, wantDetail: `duplicate field "tags.x"`},
		{name: "invalid UTF-8", body: "{\"inner\":{\"name\":\"a\xff\"}}", wantStatus: 400, wantDetail: "not valid UTF-8"},
		{name: "lone high surrogate", body: `{"inner":{"name":"\ud800"}}`, wantStatus: 400, wantDetail: "lone UTF-16 surrogate"},
		{name: "lone low surrogate", body: `{"inner":{"name":"\udc00x"}}`, wantStatus: 400, wantDetail: "lone UTF-16 surrogate"},
		{name: "surrogate pair", body: `{"inner":{"name":"\ud83c\udfb5"}}`},
		{name: "escaped backslash before u", body: `{"inner":{"name":"\\ud800"}}`},
		{name: "deep nesting", body: strings.Repeat(`{"tags":`, 40) + `{}` + strings.Repeat(`}`, 40), wantStatus: 400},
		{name: "deep arrays", body: `{"list":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}`, wantStatus: 400, wantDetail: "nests deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := events.APIGatewayV2HTTPRequest{Body: tc.body, Headers: map[string]string{"content-type": "application/json"}}
			var got nested
			err := httpapi.DecodeJSON(req, &got)
			if tc.wantStatus == 0 {
				require.NoError(t, err, "got an error for %s, want none", tc.body)
				return
			}
			var p *httpapi.Problem
			require.ErrorAs(t, err, &p, "got %v, want a *Problem", err)
			require.Equal(t, tc.wantStatus, p.Status, "got status %d, want %d (%s)", p.Status, tc.wantStatus, p.Detail)
			require.Contains(t, p.Detail, tc.wantDetail, "got detail %q, want it to mention %q", p.Detail, tc.wantDetail)
		})
	}
}

func TestCheckText(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		wantDetail string // "" = accepted
	}{
		{name: "plain", text: "The Band"},
		{name: "accents and emoji", text: "Björk 🎵"},
		{name: "implicit direction mark allowed", text: "Fairuz \u200f فيروز"},
		{name: "NUL", text: "a\u0000", wantDetail: `field "artist" must not contain a control character (U+0000 at byte 1)`},
		{name: "newline", text: "a\nb", wantDetail: "U+000A"},
		{name: "tab", text: "a\tb", wantDetail: "U+0009"},
		{name: "DEL", text: "\u007f", wantDetail: "U+007F"},
		{name: "C1", text: "\u0085", wantDetail: "U+0085"},
		{name: "RLO", text: "abc\u202e", wantDetail: "bidi override or isolate character (U+202E"},
		{name: "LRE", text: "\u202a", wantDetail: "U+202A"},
		{name: "RLI", text: "\u2067", wantDetail: "U+2067"},
		{name: "PDI", text: "\u2069", wantDetail: "U+2069"},
		{name: "invalid UTF-8", text: "a\xff", wantDetail: "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := httpapi.CheckText("artist", tc.text)
			if tc.wantDetail == "" {
				require.NoError(t, err, "got an error for %q, want none", tc.text)
				return
			}
			var p *httpapi.Problem
			require.ErrorAs(t, err, &p, "got %v, want a *Problem", err)
			require.Equal(t, http.StatusBadRequest, p.Status, "got status %d, want 400", p.Status)
			require.Contains(t, p.Detail, tc.wantDetail, "got detail %q, want it to mention %q", p.Detail, tc.wantDetail)
		})
	}
}

func TestQuery(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		params     map[string]string
		want       map[string]string
		wantDetail string // "" = accepted
	}{
		{name: "none", want: map[string]string{}},
		{name: "raw", raw: "limit=5&cursor=abc%3D", want: map[string]string{"limit": "5", "cursor": "abc="}},
		{name: "params without raw", params: map[string]string{"limit": "5"}, want: map[string]string{"limit": "5"}},
		{name: "bad percent-encoding", raw: "cursor=%%%%x", wantDetail: `query parameter "cursor" is not valid percent-encoding`},
		{name: "bad name encoding", raw: "%zz=1", wantDetail: "name"},
		{name: "repeated", raw: "limit=1&limit=2", wantDetail: `"limit" is given more than once`},
		{name: "empty value is absent", raw: "cursor=&limit=2", want: map[string]string{"limit": "2"}},
		{name: "bare name is absent", raw: "limit", want: map[string]string{}},
		{name: "empty unknown is still unknown", raw: "x=", wantDetail: `unknown query parameter "x"`},
		{name: "repeated empty", raw: "limit=&limit=", wantDetail: `"limit" is given more than once`},
		{name: "unknown", raw: "after=3", wantDetail: `unknown query parameter "after"; accepted: limit, cursor`},
		{name: "unknown without raw", params: map[string]string{"x": "1"}, wantDetail: `unknown query parameter "x"`},
		{name: "invalid UTF-8", raw: "cursor=%ff", wantDetail: "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := httpapi.Query(events.APIGatewayV2HTTPRequest{RawQueryString: tc.raw, QueryStringParameters: tc.params}, "limit", "cursor")
			if tc.wantDetail == "" {
				require.NoError(t, err, "got an error for %q, want none", tc.raw)
				require.Equal(t, tc.want, got, "got %v, want %v", got, tc.want)
				return
			}
			var p *httpapi.Problem
			require.ErrorAs(t, err, &p, "got %v, want a *Problem", err)
			require.Equal(t, http.StatusBadRequest, p.Status, "got status %d, want 400", p.Status)
			require.Contains(t, p.Detail, tc.wantDetail, "got detail %q, want it to mention %q", p.Detail, tc.wantDetail)
		})
	}
}
