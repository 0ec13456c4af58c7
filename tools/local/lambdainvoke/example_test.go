package lambdainvoke_test

import (
	"context"
	"fmt"
	"time"

	"github.com/concertsys/tools/local/lambdainvoke"
)

// A handler is invoked as the Lambda service does: JSON in, JSON out, with a timeout.
func ExampleFunction_Invoke() {
	fn := lambdainvoke.New("greet", "arn:aws:lambda:us-east-1:000000000000:function:greet",
		func(ctx context.Context, in struct{ Name string }) (string, error) { return "hello " + in.Name, nil },
		time.Second)
	out, err := fn.Invoke(context.Background(), "req-1", []byte(`{"Name":"devstack"}`))
	fmt.Println(string(out), err)
	// Output: "hello devstack" <nil>
}
