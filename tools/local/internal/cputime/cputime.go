// Package cputime measures the CPU time (user and system, every thread) the process
// spends, so a benchmark whose client and server share the process can report what
// one operation costs the machine, not only how long it waits.
package cputime

import (
	"testing"
	"time"
)

// Meter is the process's CPU time when it started.
type Meter struct{ start time.Duration }

// Start reads the process's CPU time now.
func Start() Meter { return Meter{start: used()} }

// Since is the CPU time the process spent since m started.
func (m Meter) Since() time.Duration { return used() - m.start }

// ReportPerOp reports the CPU time since m started, divided by ops, as the
// benchmark's cpu-ns/op: call it after the loop, with b.N or the operations done.
func (m Meter) ReportPerOp(b *testing.B, ops int) {
	if ops > 0 {
		b.ReportMetric(float64(m.Since().Nanoseconds())/float64(ops), "cpu-ns/op")
	}
}
