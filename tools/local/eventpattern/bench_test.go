package eventpattern_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/concertsys/tools/local/eventpattern"
)

// benchEvent is a full EventBridge envelope as the bus delivers it.
var benchEvent = []byte(`{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "TicketsSold",
  "source": "concerts",
  "account": "111122223333",
  "time": "2026-11-26T10:00:00Z",
  "region": "eu-west-1",
  "resources": [],
  "detail": {
    "metadata": {
      "eventId": "01JDQ7X8Y9Z0ABCDEFGHJKMNPQ",
      "aggregateId": "c-9f8e7d6c",
      "aggregateVersion": 7,
      "eventType": "TicketsSold",
      "schemaVersion": 1,
      "occurredAt": "2026-11-26T09:59:59.123Z",
      "correlationId": "corr-1234",
      "causationId": "cause-5678"
    },
    "data": {"quantity": 4, "ticketsSold": 120, "capacity": 500, "priceCents": 4500,
             "buyer": {"country": "NL", "tags": ["vip", "early"]}}
  }
}`)

var benchPattern = []byte(`{
  "source": ["concerts"],
  "detail-type": ["ConcertScheduled", "ConcertUpdated", "TicketsSold", "ConcertCancelled"],
  "detail": {
    "metadata": {"schemaVersion": [{"numeric": [">=", 1]}]},
    "data": {"quantity": [{"numeric": [">", 0, "<=", 100]}], "buyer": {"tags": [{"prefix": "vi"}]}}
  }
}`)

func BenchmarkMatch(b *testing.B) {
	p, err := eventpattern.Compile(benchPattern)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchEvent)))
	b.ReportAllocs()
	for b.Loop() {
		ok, err := p.Match(benchEvent)
		if err != nil || !ok {
			b.Fatalf("got %v, %v; want true", ok, err)
		}
	}
}

func BenchmarkMatchValue(b *testing.B) {
	p, err := eventpattern.Compile(benchPattern)
	if err != nil {
		b.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(benchEvent))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !p.MatchValue(m) {
			b.Fatal("got false, want true")
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eventpattern.Compile(benchPattern); err != nil {
			b.Fatal(err)
		}
	}
}
