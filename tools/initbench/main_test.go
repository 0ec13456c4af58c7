package main

import "testing"

func TestParseInitDuration(t *testing.T) {
	log := "START RequestId: 1 Version: $LATEST\nEND RequestId: 1\nREPORT RequestId: 1\tInit Duration: 12.34 ms\tDuration: 1.20 ms\tBilled Duration: 2 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t\n"
	line := ReportLine(log)
	if line == "" {
		t.Fatal("no REPORT line")
	}
	ms, ok := ParseInitDuration(line)
	if !ok || ms != 12.34 {
		t.Fatalf("got %v %v", ms, ok)
	}
	if _, ok := ParseInitDuration("REPORT RequestId: 2\tDuration: 1.00 ms"); ok {
		t.Fatal("warm invoke has no Init Duration")
	}
	if ReportLine("START RequestId: 1") != "" {
		t.Fatal("no REPORT expected")
	}
}
