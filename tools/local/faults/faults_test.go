package faults_test

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertsys/tools/local/faults"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		want    faults.Spec
		wantErr string
	}{
		{name: "every key", spec: "invoke=0.2,after=0.2,put=0.2,dup=0.2,delay=50ms,seed=7",
			want: faults.Spec{Invoke: 0.2, After: 0.2, Put: 0.2, Dup: 0.2, Delay: 50 * time.Millisecond, Seed: 7}},
		{name: "spaces and any order", spec: " seed=3 , put=1 ", want: faults.Spec{Put: 1, Seed: 3}},
		{name: "default seed", spec: "invoke=0", want: faults.Spec{Seed: 42}},
		{name: "empty", spec: "", wantErr: "empty SPEC"},
		{name: "no equals", spec: "invoke", wantErr: `"invoke" is not key=value`},
		{name: "empty value", spec: "invoke=", wantErr: "is not key=value"},
		{name: "trailing comma", spec: "invoke=0.1,", wantErr: "is not key=value"},
		{name: "unknown key", spec: "crash=0.1", wantErr: `unknown key "crash"`},
		{name: "twice", spec: "put=0.1,put=0.2", wantErr: "put given twice"},
		{name: "above one", spec: "invoke=1.5", wantErr: "invoke=1.5: want a fraction from 0 to 1"},
		{name: "negative", spec: "dup=-0.1", wantErr: "dup=-0.1: want a fraction"},
		{name: "not a number", spec: "after=lots", wantErr: "after=lots: want a fraction"},
		{name: "NaN", spec: "after=NaN", wantErr: "want a fraction"},
		{name: "delay without unit", spec: "delay=50", wantErr: `delay "50": want a duration`},
		{name: "negative delay", spec: "delay=-1s", wantErr: "delay -1s: want 0 to 1m0s"},
		{name: "delay too long", spec: "delay=2m", wantErr: "delay 2m: want 0 to 1m0s"},
		{name: "bad seed", spec: "seed=-1", wantErr: `seed "-1": want an unsigned integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := faults.Parse(tt.spec, 42)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tt.wantErr, "got %v want %q", err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "got %+v want %+v", got, tt.want)
		})
	}
}

func TestStringRoundTrips(t *testing.T) {
	s := faults.Spec{Invoke: 0.25, After: 0.1, Put: 0.2, Dup: 0.05, Delay: 50 * time.Millisecond, Seed: 9}
	require.Equal(t, "invoke=0.25,after=0.1,put=0.2,dup=0.05,delay=50ms,seed=9", s.String())
	back, err := faults.Parse(s.String(), 0)
	require.NoError(t, err)
	require.Equal(t, s, back)
}

func TestNilInjectorInjectsNothing(t *testing.T) {
	var in *faults.Injector
	require.NoError(t, in.FailInvoke("f"))
	require.NoError(t, in.FailAfter("f"))
	code, _ := in.EntryFailure("bus")
	require.Empty(t, code)
	var copies []int
	in.Hand("rule", func(c int) { copies = append(copies, c) })
	require.Equal(t, []int{0}, copies, "delivered once, synchronously")
	require.Nil(t, in.Status())
}

// decisions is the first n invoke decisions at one site.
func decisions(in *faults.Injector, site string, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = in.FailInvoke(site) != nil
	}
	return out
}

func TestSameSeedSameDecisions(t *testing.T) {
	spec := faults.Spec{Invoke: 0.3, Seed: 11}
	a, b := faults.New(spec), faults.New(spec)
	// Another site drawing in between must not shift this site's decisions.
	for range 50 {
		_ = b.FailInvoke("other")
	}
	require.Equal(t, decisions(a, "fn", 500), decisions(b, "fn", 500))
	other := faults.New(faults.Spec{Invoke: 0.3, Seed: 12})
	require.NotEqual(t, decisions(faults.New(spec), "fn", 500), decisions(other, "fn", 500), "another seed, other decisions")
}

func TestRatesAndCounts(t *testing.T) {
	const n = 20000
	in := faults.New(faults.Spec{Invoke: 0.2, After: 0.5, Put: 0.1, Dup: 0.3, Delay: time.Millisecond, Seed: 5})
	var invoke, after, put int
	codes := map[string]int{}
	for range n {
		if err := in.FailInvoke("f"); err != nil {
			require.ErrorIs(t, err, faults.ErrInjected)
			invoke++
		}
		if in.FailAfter("f") != nil {
			after++
		}
		if code, _ := in.EntryFailure("bus"); code != "" {
			put++
			codes[code]++
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	handed := 0
	wg.Add(n)
	for range n {
		in.Hand("rule", func(c int) {
			mu.Lock()
			handed++
			mu.Unlock()
			if c == 0 {
				wg.Done()
			}
		})
	}
	wg.Wait()
	near := func(name string, got int, p float64) {
		t.Helper()
		want := p * n
		require.InDelta(t, want, float64(got), 4*math.Sqrt(want), "%s: got %d want about %.0f", name, got, want)
	}
	near("invoke", invoke, 0.2)
	near("after", after, 0.5)
	near("put", put, 0.1)
	require.Len(t, codes, 2, "both transient codes: %v", codes)
	counts := in.Counts()
	require.Equal(t, uint64(invoke), counts[faults.Invoke])
	require.Equal(t, uint64(after), counts[faults.After])
	require.Equal(t, uint64(put), counts[faults.Put])
	near("dup", int(counts[faults.Dup]), 0.3)
	require.Positive(t, counts[faults.Delay])
	st := in.Status()
	require.Equal(t, "invoke=0.2,after=0.5,put=0.1,dup=0.3,delay=1ms,seed=5", st.Spec)
}

func ExampleParse() {
	spec, err := faults.Parse("invoke=0.2,after=0.2,put=0.2,dup=0.2,delay=50ms,seed=1", 0)
	fmt.Println(spec, err)
	in := faults.New(spec)
	fmt.Println(in.Status().Spec)
	// Output:
	// invoke=0.2,after=0.2,put=0.2,dup=0.2,delay=50ms,seed=1 <nil>
	// invoke=0.2,after=0.2,put=0.2,dup=0.2,delay=50ms,seed=1
}
