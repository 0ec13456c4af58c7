package eventlog

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Attribute names of the DynamoDB record. They are part of the item size every
// adapter enforces, so they live here rather than in dynamolog.
const (
	AttrAggregateID   = "AggregateId"
	AttrVersion       = "AggregateVersion"
	AttrCreated       = "Created"
	AttrEventType     = "EventType"
	AttrData          = "Data"
	AttrEventID       = "EventId"
	AttrSchemaVersion = "SchemaVersion"
	AttrCorrelationID = "CorrelationId"
	AttrCausationID   = "CausationId"
	AttrTraceParent   = "TraceParent"
)

const (
	// MaxBatchEvents is DynamoDB's TransactWriteItems limit: the most events one
	// Append may write atomically.
	MaxBatchEvents = 100
	// MaxBatchBytes is DynamoDB's limit on the total size of one transaction.
	MaxBatchBytes = 4 * 1024 * 1024
	// MaxAggregateIDBytes is DynamoDB's partition key length limit.
	MaxAggregateIDBytes = 2048
)

// EpochSeconds formats t as the Created number: epoch seconds with a millisecond
// fraction ("1777658400.123"). Sub-millisecond precision is dropped.
func EpochSeconds(t time.Time) string {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// ParseEpochSeconds parses a Created number (any DynamoDB number of epoch seconds)
// into a UTC time, rounded to the millisecond.
func ParseEpochSeconds(s string) (time.Time, error) {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return time.Time{}, fmt.Errorf("created %q: not a number", s)
	}
	ms := new(big.Rat).Mul(r, big.NewRat(1000, 1))
	num, den := ms.Num(), ms.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	// Round half away from zero: a float-ish "…0.1229999" still means 123 ms.
	if new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(int64(num.Sign())))
	}
	if !q.IsInt64() {
		return time.Time{}, fmt.Errorf("created %q: out of range", s)
	}
	rounded := q.Int64()
	return time.UnixMilli(rounded).UTC(), nil
}

// ItemSize is the size DynamoDB charges for e as one item: the UTF-8 length of every
// attribute name plus the size of its value (strings: UTF-8 bytes; numbers: one byte
// per two significant digits, aligned on the decimal point, plus one, plus one when
// negative). Empty optional strings are not stored and do not count.
func ItemSize(e Event) int {
	n := 0
	str := func(name, v string) {
		n += len(name) + len(v)
	}
	num := func(name, v string) {
		n += len(name) + NumberSize(v)
	}
	str(AttrAggregateID, e.AggregateID)
	num(AttrVersion, strconv.FormatInt(e.Version, 10))
	num(AttrCreated, EpochSeconds(e.OccurredAt))
	str(AttrEventType, e.EventType)
	str(AttrData, string(e.Data))
	num(AttrSchemaVersion, strconv.Itoa(e.SchemaVersion))
	for _, a := range [...]struct{ name, v string }{
		{AttrEventID, e.EventID}, {AttrCorrelationID, e.CorrelationID}, {AttrCausationID, e.CausationID},
		{AttrTraceParent, e.TraceParent},
	} {
		if a.v != "" {
			str(a.name, a.v)
		}
	}
	return n
}

// NumberSize is the storage size of a DynamoDB number given in decimal notation:
// DynamoDB stores numbers as base-100 digit pairs aligned on the decimal point, with
// leading and trailing zeros trimmed, plus one exponent byte (and one more byte for
// a negative number). Exponents ("1e3") are not expected here and are sized as text.
func NumberSize(s string) int {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	if strings.ContainsAny(s, "eE") {
		return len(s) + 1
	}
	intPart, frac, _ := strings.Cut(s, ".")
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if intPart == "" && frac == "" {
		return 1 // zero
	}
	if len(intPart)%2 == 1 {
		intPart = "0" + intPart
	}
	if len(frac)%2 == 1 {
		frac += "0"
	}
	digits := intPart + frac
	if intPart == "" {
		// 0.00012: leading zero pairs of the fraction live in the exponent.
		for strings.HasPrefix(digits, "00") {
			digits = digits[2:]
		}
	}
	if frac == "" {
		// 1200: trailing zero pairs of the integer live in the exponent.
		for strings.HasSuffix(digits, "00") {
			digits = digits[:len(digits)-2]
		}
	}
	size := len(digits)/2 + 1
	if neg {
		size++
	}
	return size
}

// ValidateBatch checks what every adapter requires of one Append before touching
// storage: a non-empty batch of at most MaxBatchEvents events of one aggregate with
// consecutive versions from >= 1, an aggregate id of 1..MaxAggregateIDBytes bytes, an
// event type, a non-negative schema version, valid UTF-8 strings and JSON data. An
// event over MaxItemBytes, or a batch over MaxBatchBytes, fails with ErrTooLarge.
func ValidateBatch(events []Event) error {
	if len(events) == 0 {
		return fmt.Errorf("empty batch: %w", ErrInvalid)
	}
	if len(events) > MaxBatchEvents {
		return fmt.Errorf("%d events, at most %d per append: %w", len(events), MaxBatchEvents, ErrInvalid)
	}
	first := events[0]
	if first.AggregateID == "" || len(first.AggregateID) > MaxAggregateIDBytes {
		return fmt.Errorf("aggregate id of %d bytes, want 1..%d: %w", len(first.AggregateID), MaxAggregateIDBytes, ErrInvalid)
	}
	if first.Version < 1 {
		return fmt.Errorf("aggregate %s: version %d, want >= 1: %w", first.AggregateID, first.Version, ErrInvalid)
	}
	total := 0
	for i, e := range events {
		if e.AggregateID != first.AggregateID {
			return fmt.Errorf("batch mixes aggregates %s and %s: %w", first.AggregateID, e.AggregateID, ErrInvalid)
		}
		if want := first.Version + int64(i); e.Version != want {
			return fmt.Errorf("aggregate %s: event %d has version %d, want %d: %w", e.AggregateID, i, e.Version, want, ErrInvalid)
		}
		if e.EventType == "" {
			return fmt.Errorf("aggregate %s version %d: empty event type: %w", e.AggregateID, e.Version, ErrInvalid)
		}
		if e.SchemaVersion < 0 {
			return fmt.Errorf("aggregate %s version %d: schema version %d: %w", e.AggregateID, e.Version, e.SchemaVersion, ErrInvalid)
		}
		for _, s := range [...]string{e.AggregateID, e.EventID, e.EventType, e.CorrelationID, e.CausationID, e.TraceParent} {
			if !utf8.ValidString(s) {
				return fmt.Errorf("aggregate %q version %d: invalid UTF-8: %w", e.AggregateID, e.Version, ErrInvalid)
			}
		}
		if !json.Valid(e.Data) {
			return fmt.Errorf("aggregate %s version %d: data is not valid JSON: %w", e.AggregateID, e.Version, ErrInvalid)
		}
		size := ItemSize(e)
		if size > MaxItemBytes {
			return fmt.Errorf("aggregate %s version %d: %d bytes, limit %d: %w", e.AggregateID, e.Version, size, MaxItemBytes, ErrTooLarge)
		}
		total += size
	}
	if total > MaxBatchBytes {
		return fmt.Errorf("aggregate %s: batch of %d bytes, limit %d: %w", first.AggregateID, total, MaxBatchBytes, ErrTooLarge)
	}
	return nil
}
