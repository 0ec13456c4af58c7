package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Query returns the request's query parameters strictly: the raw query string must
// parse (API Gateway and devstack drop pairs that do not, such as "cursor=%%%%x",
// which would silently read as an absent parameter), every name must be one of
// accepted, none may repeat or hold invalid UTF-8. Every failure is a 400 *Problem
// naming the parameter. An empty value ("status=", as an HTML form sends an unset
// field) is the same as an absent parameter and left out of the result. Without a raw query string (a test's or a bare
// invocation's event) it checks QueryStringParameters instead.
func Query(req events.APIGatewayV2HTTPRequest, accepted ...string) (map[string]string, error) {
	out := map[string]string{}
	if req.RawQueryString != "" {
		for pair := range strings.SplitSeq(req.RawQueryString, "&") {
			if pair == "" {
				continue
			}
			rawName, rawValue, _ := strings.Cut(pair, "=")
			name, err := url.QueryUnescape(rawName)
			if err != nil {
				return nil, NewProblem(http.StatusBadRequest, fmt.Sprintf("query parameter name %q is not valid percent-encoding", rawName))
			}
			value, err := url.QueryUnescape(rawValue)
			if err != nil {
				return nil, NewProblem(http.StatusBadRequest, fmt.Sprintf("query parameter %q is not valid percent-encoding", name))
			}
			if _, dup := out[name]; dup {
				return nil, NewProblem(http.StatusBadRequest, fmt.Sprintf("query parameter %q is given more than once", name))
			}
			out[name] = value
		}
	} else {
		for name, value := range req.QueryStringParameters {
			out[name] = value
		}
	}
	for name, value := range out {
		if !slices.Contains(accepted, name) {
			if len(accepted) == 0 {
				return nil, NewProblem(http.StatusBadRequest, fmt.Sprintf("unknown query parameter %q; this route takes none", name))
			}
			return nil, NewProblem(http.StatusBadRequest, fmt.Sprintf("unknown query parameter %q; accepted: %s", name, strings.Join(accepted, ", ")))
		}
		if value == "" {
			delete(out, name)
			continue
		}
		if !utf8.ValidString(value) {
			return nil, NewProblem(http.StatusBadRequest, fmt.Sprintf("query parameter %q is not valid UTF-8", name))
		}
	}
	return out, nil
}
