package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {90, 90}, {99, 99}, {100, 100}, {0, 1}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile([]time.Duration{1, 2, 3, 4, 5}, 50); got != 3 {
		t.Errorf("median of 5 = %v, want 3", got)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -12345: "-12,345"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSelectScenarios(t *testing.T) {
	all, err := selectScenarios("")
	if err != nil || len(all) != len(scenarios()) {
		t.Fatalf("default = %d scenarios, %v; want all", len(all), err)
	}
	picked, err := selectScenarios("noop-rpc, startup")
	if err != nil || len(picked) != 2 || picked[0].name != "noop-rpc" || picked[1].name != "startup" {
		t.Fatalf("picked %v, %v", picked, err)
	}
	if _, err := selectScenarios("startup,nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown scenario: err = %v", err)
	}
}

func TestWriteSection(t *testing.T) {
	var b strings.Builder
	writeSection(&b, "x", []row{{"requests/s", "12,345", "≥ 10,000"}}, "footer")
	want := "### x\n\n" +
		"| metric     | value  | target   |\n" +
		"| ---------- | ------ | -------- |\n" +
		"| requests/s | 12,345 | ≥ 10,000 |\n" +
		"\nfooter\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
