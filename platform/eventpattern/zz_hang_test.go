package eventpattern_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/concertsys/platform/eventpattern"
)

func FuzzZZHang(f *testing.F) {
	for i := range fuzzSeedPatterns {
		f.Add([]byte(fuzzSeedPatterns[i]), []byte(fuzzSeedEvents[i%len(fuzzSeedEvents)]))
	}
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		timer := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("SLOW pattern=%q event=%q", pattern, event)) })
		defer timer.Stop()
		p, err := eventpattern.Compile(pattern)
		if err != nil {
			return
		}
		p.Match(event)
	})
}
