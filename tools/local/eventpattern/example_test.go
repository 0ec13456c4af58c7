package eventpattern_test

import (
	"fmt"

	"github.com/concertsys/tools/local/eventpattern"
)

func Example() {
	p, err := eventpattern.Compile([]byte(`{
		"source": ["concerts"],
		"detail-type": [{"prefix": "Concert"}],
		"detail": {"data": {"priceCents": [{"numeric": [">=", 1000, "<", 5000]}]}}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, event := range []string{
		`{"source":"concerts","detail-type":"ConcertScheduled","detail":{"data":{"priceCents":2500}}}`,
		`{"source":"concerts","detail-type":"ConcertScheduled","detail":{"data":{"priceCents":9900}}}`,
		`{"source":"projections","detail-type":"ConcertViewUpdated","detail":{"data":{"priceCents":2500}}}`,
	} {
		ok, err := p.Match([]byte(event))
		fmt.Println(ok, err)
	}

	_, err = eventpattern.Compile([]byte(`{"detail":{"count":[{"numeric":[">"]}]}}`))
	fmt.Println(err)
	// Output:
	// true <nil>
	// false <nil>
	// false <nil>
	// invalid event pattern: field "detail.count": numeric: expected number after ">"
}
