package domain_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/services/notifications/internal/domain"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name          string
		body          string
		wantAction    string
		wantConcertID string
		wantErr       string // substring of the client-facing message
	}{
		{"subscribe to a concert", `{"action":"subscribe","concertId":"c0ncert0-0000-4000-8000-000000000001"}`, "subscribe", "c0ncert0-0000-4000-8000-000000000001", ""},
		{"subscribe to all", `{"action":"subscribe","concertId":"*"}`, "subscribe", "*", ""},
		{"unsubscribe", ` {"concertId":"abc","action":"unsubscribe"} `, "unsubscribe", "abc", ""},
		{"max length id", `{"action":"subscribe","concertId":"` + strings.Repeat("a", domain.MaxConcertIDLength) + `"}`, "subscribe", strings.Repeat("a", domain.MaxConcertIDLength), ""},
		{"empty", ``, "", "", "message is empty"},
		{"not JSON", `subscribe me`, "", "", "not valid JSON"},
		{"truncated JSON", `{"action":"subscribe"`, "", "", "not valid JSON"},
		{"array", `["subscribe"]`, "", "", "must be a JSON object"},
		{"null", ` null `, "", "", "must be a JSON object"},
		{"string", `"subscribe"`, "", "", "must be a JSON object"},
		{"two objects", `{"action":"subscribe","concertId":"a"}{}`, "", "", "single JSON object"},
		{"missing action", `{"concertId":"a"}`, "", "", "action is required"},
		{"unknown action", `{"action":"dance","concertId":"a"}`, "", "", `unknown action "dance"`},
		{"action not a string", `{"action":1,"concertId":"a"}`, "", "", "action must be a string"},
		{"missing concertId", `{"action":"subscribe"}`, "", "", "concertId is required"},
		{"null concertId", `{"action":"subscribe","concertId":null}`, "", "", "concertId is required"},
		{"empty concertId", `{"action":"subscribe","concertId":""}`, "", "", "concertId is required"},
		{"concertId too long", `{"action":"subscribe","concertId":"` + strings.Repeat("a", domain.MaxConcertIDLength+1) + `"}`, "", "", "longer than 128"},
		{"concertId with slash", `{"action":"subscribe","concertId":"a/b"}`, "", "", "may only contain"},
		{"concertId with star inside", `{"action":"subscribe","concertId":"a*"}`, "", "", "may only contain"},
		{"unknown field", `{"action":"subscribe","concertId":"a","snapshot":true}`, "", "", `unknown field "snapshot"`},
		{"too large", `{"action":"subscribe","concertId":"a","x":"` + strings.Repeat("x", domain.MaxClientMessageBytes) + `"}`, "", "", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := domain.ParseCommand(tt.body)
			if tt.wantErr != "" {
				var perr *domain.ProtocolError
				require.True(t, errors.As(err, &perr), "got %v, want a *ProtocolError", err)
				require.Contains(t, perr.Message, tt.wantErr, "got %q, want it to contain %q", perr.Message, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantAction, cmd.Action())
			require.Equal(t, tt.wantConcertID, cmd.ConcertID().String())
		})
	}
}

func TestReplies(t *testing.T) {
	topic, err := domain.ParseConcertID("c1")
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"subscribed","concertId":"c1"}`, string(domain.SubscribedMessage(topic)))
	require.JSONEq(t, `{"type":"unsubscribed","concertId":"c1"}`, string(domain.UnsubscribedMessage(topic)))
	require.JSONEq(t, `{"type":"error","message":"a \"quoted\" text"}`, string(domain.ErrorMessage(`a "quoted" text`)))
}

func TestConcertViewUpdatedMessage(t *testing.T) {
	small := json.RawMessage(`{"id":"c1","version":3}`)
	big := json.RawMessage(`{"id":"c1","artist":"` + strings.Repeat("x", domain.MaxMessageBytes) + `"}`)
	tests := []struct {
		name        string
		view        json.RawMessage
		wantOmitted bool
		want        string
	}{
		{"with view", small, false, `{"type":"concert.updated","concertId":"c1","version":3,"view":{"id":"c1","version":3}}`},
		{"view too large", big, true, `{"type":"concert.updated","concertId":"c1","version":3,"viewOmitted":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, omitted, err := domain.ConcertViewUpdatedMessage(domain.ConcertViewUpdated{ConcertID: "c1", Version: 3, View: tt.view})
			require.NoError(t, err)
			require.Equal(t, tt.wantOmitted, omitted)
			require.LessOrEqual(t, len(msg), domain.MaxMessageBytes)
			require.JSONEq(t, tt.want, string(msg))
		})
	}
}

// FuzzParseCommand: no input panics, and every outcome is either a valid command
// whose topic re-validates or a *ProtocolError with a non-empty message.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		`{"action":"subscribe","concertId":"c1"}`, `{"action":"unsubscribe","concertId":"*"}`,
		`{"action":"subscribe"}`, `{"action":null}`, `[]`, `"x"`, `{"action":"subscribe","concertId":"\u0000"}`,
		`{"action":"subscribe","concertId":"a","concertId":"b"}`, `{"action":"\xff\xfe"}`, ``, `{`, `1e999`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmd, err := domain.ParseCommand(body)
		if err != nil {
			var perr *domain.ProtocolError
			if !errors.As(err, &perr) || perr.Message == "" {
				t.Fatalf("got error %#v, want a *ProtocolError with a message", err)
			}
			if !json.Valid(domain.ErrorMessage(perr.Message)) {
				t.Fatalf("error reply for %q is not valid JSON", body)
			}
			return
		}
		if cmd.Action() != domain.ActionSubscribe && cmd.Action() != domain.ActionUnsubscribe {
			t.Fatalf("got action %q", cmd.Action())
		}
		if _, err := domain.ParseConcertID(cmd.ConcertID().String()); err != nil {
			t.Fatalf("accepted topic %q does not re-validate: %v", cmd.ConcertID().String(), err)
		}
	})
}
