package eventsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/bus/eventsapi"
	"github.com/concertsys/tools/local/eventpattern/conformance"
)

// envelopeFiller is what a partial case event is completed with for the strict API,
// which (like AWS) requires these fields of TestEventPattern's Event.
var envelopeFiller = []struct{ key, value string }{
	{"id", `"6a7e8feb-b491-4cf7-a9f1-bf3703467718"`},
	{"account", `"123456789012"`},
	{"source", `"conformance.test"`},
	{"time", `"2026-01-01T00:00:00Z"`},
	{"region", `"us-east-1"`},
	{"resources", `[]`},
	{"detail-type", `"Conformance"`},
}

// strictEvent returns the case event completed to a full envelope, or false when that
// could change the outcome (the pattern mentions a missing field) or the event has an
// envelope field of a type AWS would refuse. Fields are added textually so the event's
// own bytes (numbers written as 3.0e2, duplicate keys) reach the matcher verbatim.
func strictEvent(c conformance.Case) ([]byte, bool) {
	ev := bytes.TrimSpace(c.Event)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(ev, &fields); err != nil || fields == nil {
		return nil, false
	}
	pattern := string(c.PatternJSON())
	var add []string
	for _, f := range envelopeFiller {
		v, ok := fields[f.key]
		if !ok {
			if strings.Contains(pattern, `"`+f.key+`"`) {
				return nil, false
			}
			add = append(add, `"`+f.key+`":`+f.value)
			continue
		}
		switch f.key {
		case "resources":
			var res []string
			if json.Unmarshal(v, &res) != nil || res == nil {
				return nil, false
			}
		default:
			var s string
			if json.Unmarshal(v, &s) != nil {
				return nil, false
			}
			if f.key == "time" {
				if _, err := time.Parse(time.RFC3339, s); err != nil {
					return nil, false
				}
			}
		}
	}
	if len(add) == 0 {
		return ev, true
	}
	rest := bytes.TrimSpace(ev[1:])
	out := "{" + strings.Join(add, ",")
	if len(rest) > 0 && rest[0] != '}' {
		out += ","
	}
	return append([]byte(out), rest...), true
}

func conformanceDir(t *testing.T) string {
	t.Helper()
	dir, err := conformance.Dir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("EventBridge pattern conformance vectors missing in CI: %v", err)
		}
		t.Skipf("SKIPPING EventBridge pattern conformance through the API: %v", err)
	}
	return dir
}

// TestConformanceThroughAPI runs the shared EventBridge pattern vectors through
// TestEventPattern on /_aws/events with the real SDK client: every case on a handler
// that accepts partial events (the vectors' events are often fragments), every case
// whose event can be completed to a full envelope without changing its outcome on the
// strict handler too, and every invalid pattern on the strict handler.
func TestConformanceThroughAPI(t *testing.T) {
	dir := conformanceDir(t)
	cases, err := conformance.LoadCases(dir)
	require.NoError(t, err)
	invalid, err := conformance.LoadInvalid(dir)
	require.NoError(t, err)
	require.Len(t, cases, 983, "shared cases.jsonl changed size")
	require.Len(t, invalid, 136, "shared invalid.jsonl changed size")

	strict := newFixture(t, eventsapi.Options{})
	relaxed := newFixture(t, eventsapi.Options{AllowPartialTestEvents: true})
	ctx := context.Background()
	test := func(client *eventbridge.Client, pattern, event []byte) (bool, error) {
		out, err := client.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{
			EventPattern: aws.String(string(pattern)), Event: aws.String(string(event)),
		})
		if err != nil {
			return false, err
		}
		return out.Result, nil
	}

	strictRun := 0
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			got, err := test(relaxed.client, c.PatternJSON(), c.Event)
			if err != nil {
				t.Errorf("%s (relaxed): got error %v, want Result=%v", c.Name, err, c.Match)
				continue
			}
			if got != c.Match {
				t.Errorf("%s (relaxed): got Result=%v, want %v\npattern %s\nevent %s", c.Name, got, c.Match, c.PatternJSON(), c.Event)
			}
			ev, ok := strictEvent(c)
			if !ok {
				continue
			}
			strictRun++
			got, err = test(strict.client, c.PatternJSON(), ev)
			if err != nil {
				t.Errorf("%s (strict): got error %v, want Result=%v\nevent %s", c.Name, err, c.Match, ev)
				continue
			}
			if got != c.Match {
				t.Errorf("%s (strict): got Result=%v, want %v\npattern %s\nevent %s", c.Name, got, c.Match, c.PatternJSON(), ev)
			}
		}
		t.Logf("%d cases through the relaxed handler, %d of them also through the strict handler", len(cases), strictRun)
		// Guards the completion logic against silently skipping most cases.
		require.Greater(t, strictRun, len(cases)/2)
	})

	t.Run("invalid patterns", func(t *testing.T) {
		event := []byte(`{"version":"0","id":"1","detail-type":"d","source":"s","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}`)
		for _, inv := range invalid {
			_, err := test(strict.client, []byte(inv.PatternText), event)
			var typed *types.InvalidEventPatternException
			if !errors.As(err, &typed) {
				t.Errorf("%s: got %v, want InvalidEventPatternException (%s)\npattern %s", inv.Name, err, inv.Reason, inv.PatternText)
			}
		}
	})
}
