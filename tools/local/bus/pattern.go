package bus

import "github.com/concertsys/tools/local/eventpattern"

// compilePattern compiles an EventBridge event pattern with the shared matcher, the
// same one the TestEventPattern API uses.
func compilePattern(p []byte) (matcher, error) {
	c, err := eventpattern.Compile(p)
	if err != nil {
		return nil, err
	}
	return c, nil
}
