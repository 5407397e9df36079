package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The targets are checked on the standard rtt rounds only: the pinned
// rounds have their own rows and do not enter the medians.
func TestRTTVariantsKeptApart(t *testing.T) {
	lines := `{"server":"nes-go","scenario":"rtt","requests_per_s":100,"p50_ms":1,"p99_ms":5}
{"server":"nes-go","scenario":"rtt","requests_per_s":300,"p50_ms":1,"p99_ms":7}
{"server":"nes-go","scenario":"rtt","variant":"pinned","requests_per_s":900,"p50_ms":0.5,"p99_ms":2}
{"server":"centrifuge","scenario":"rtt","requests_per_s":150,"p50_ms":1,"p99_ms":4}
{"server":"centrifuge","scenario":"rtt","variant":"pinned","requests_per_s":800,"p50_ms":0.6,"p99_ms":3}
`
	path := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		server string
		match  map[string]any
		field  string
		want   float64
	}{
		{"nes-go", standard, "requests_per_s", 200}, // the median of 100 and 300
		{"nes-go", pinned, "requests_per_s", 900},
		{"nes-go", standard, "p99_ms", 6},
		{"centrifuge", standard, "p99_ms", 4},
		{"centrifuge", pinned, "p99_ms", 3},
	} {
		got, ok := rs.value(c.server, "rtt", c.match, c.field)
		if !ok || got != c.want {
			t.Errorf("value(%s, rtt, %v, %s) = %v, %v; want %v", c.server, c.match, c.field, got, ok, c.want)
		}
	}
	md := table(rs, nil, "")
	for _, want := range []string{
		"| requests over the socket, 50 clients: requests/s (median of 3 runs) | 200 | – | 150 |",
		"| same, on a core each: p50 / p99 (ms) | 0.50 / 2.00 | – / – | 0.60 / 3.00 |",
		"| 3. requests/s ≥ centrifuge's RPC | 200 / 150 = 1.33× |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}
