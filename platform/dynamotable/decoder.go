package dynamotable

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Decoder reads typed attributes of one item and collects every fault, so adapters
// decode what a table holds without a type assertion that could panic, and report all
// of a bad item's faults at once.
type Decoder struct {
	item map[string]types.AttributeValue
	errs []error
}

// NewDecoder reads item.
func NewDecoder(item map[string]types.AttributeValue) *Decoder { return &Decoder{item: item} }

// S is the required string attribute name.
func (d *Decoder) S(name string) string { return d.str(name, true) }

// OptionalS is the string attribute name, or "" when the item has none (adapters
// leave empty optional strings out).
func (d *Decoder) OptionalS(name string) string { return d.str(name, false) }

func (d *Decoder) str(name string, required bool) string {
	switch v := d.item[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case nil:
		if required {
			d.Fail(fmt.Errorf("%s missing", name))
		}
	default:
		d.Fail(fmt.Errorf("%s is %T, want S", name, v))
	}
	return ""
}

// N is the text of the required number attribute name ("0" when it is not one).
func (d *Decoder) N(name string) string {
	v, ok := d.item[name].(*types.AttributeValueMemberN)
	if !ok {
		d.Fail(fmt.Errorf("%s is %T, want N", name, d.item[name]))
		return "0"
	}
	return v.Value
}

// Int is the required integer number attribute name.
func (d *Decoder) Int(name string) int64 {
	n, err := strconv.ParseInt(d.N(name), 10, 64)
	if err != nil {
		d.Fail(fmt.Errorf("%s: %w", name, err))
	}
	return n
}

// Fail records a fault the caller found itself (a value of the right type that does
// not parse or breaks a rule).
func (d *Decoder) Fail(err error) { d.errs = append(d.errs, err) }

// Err joins every fault, or is nil when there was none.
func (d *Decoder) Err() error { return errors.Join(d.errs...) }
