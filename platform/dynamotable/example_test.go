package dynamotable_test

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/concertsys/platform/dynamotable"
)

// A Decoder reads an item without a type assertion that could panic and reports every
// fault of a bad item at once.
func ExampleDecoder() {
	good := map[string]types.AttributeValue{"id": dynamotable.S("c1"), "version": dynamotable.N(3)}
	d := dynamotable.NewDecoder(good)
	fmt.Println(d.S("id"), d.Int("version"), d.OptionalS("note") == "", d.Err())

	bad := map[string]types.AttributeValue{"id": dynamotable.N(1)}
	d = dynamotable.NewDecoder(bad)
	_, _ = d.S("id"), d.Int("version")
	fmt.Println(d.Err())
	// Output:
	// c1 3 true <nil>
	// id is *types.AttributeValueMemberN, want S
	// version is <nil>, want N
}
