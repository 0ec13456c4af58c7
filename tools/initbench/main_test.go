package main

import "testing"

func TestParseReports(t *testing.T) {
	log := "START RequestId: 1 Version: $LATEST\nEND RequestId: 1\n" +
		"REPORT RequestId: 1\tInit Duration: 0.02 ms\tDuration: 59.21 ms\tBilled Duration: 60 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t\n" +
		"START RequestId: 2 Version: $LATEST\nEND RequestId: 2\n" +
		"REPORT RequestId: 2\tDuration: 1.21 ms\tBilled Duration: 2 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t\n"
	lines := ReportLines(log)
	if len(lines) != 2 {
		t.Fatalf("got %d REPORT lines", len(lines))
	}
	if ms, ok := ParseInitDuration(lines[0]); !ok || ms != 0.02 {
		t.Fatalf("Init Duration: got %v %v", ms, ok)
	}
	if _, ok := ParseInitDuration(lines[1]); ok {
		t.Fatal("a warm invoke has no Init Duration")
	}
	ms, err := InitMs(lines[0], lines[1])
	if err != nil || ms < 57.99 || ms > 58.01 {
		t.Fatalf("InitMs: got %v %v", ms, err)
	}
	if _, err := InitMs("REPORT RequestId: 3", lines[1]); err == nil {
		t.Fatal("want an error without Duration")
	}
	if len(ReportLines("START RequestId: 1")) != 0 {
		t.Fatal("no REPORT expected")
	}
}
