package main

import (
	"fmt"
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
	rs := loadString(t, lines)
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
	tableHas(t, table(rs, nil, ""),
		"| requests over the socket, 50 clients: requests/s (median of 3 runs) | 200 | – | 150 |",
		"| same, on a core each: p50 / p99 (ms) | 0.50 / 2.00 | – / – | 0.60 / 3.00 |",
		"| 3. requests/s ≥ centrifuge's RPC | 200 / 150 = 1.33× |",
	)
}

// A smaller run (QUICK=1) gives no verdict on the targets defined on the
// full run's sizes: 10,000 idle connections, and a stalled subscriber sent
// more than nes's queue bound.
func TestSmallRunNotJudged(t *testing.T) {
	line := func(server, scenario, fields string) string {
		return fmt.Sprintf(`{"server":%q,"scenario":%q,%s}`+"\n", server, scenario, fields)
	}
	for _, c := range []struct {
		conns, bursts int
		want          []string
	}{
		{1000, 4, []string{
			"| memory per idle connection (KB: RSS delta over 1,000) | 10.0 | 8.0 | 29.0 |",
			"| 2. memory per connection ≤ ½ centrifuge's | 10.0 / 29.0 KB = 0.34× (over 1,000) | not measured |",
			"| 4. … and is disconnected at its queue bound | disconnected: false, close code -1 (sent 1.9 MiB, bound 4.0 MiB) | not measured |",
			"| 4. a stalled subscriber costs the others < 10% | rate ratio 1.05 | **met** |",
		}},
		{10000, 20, []string{
			"| memory per idle connection (KB: RSS delta over 10,000) | 10.0 | 8.0 | 29.0 |",
			"| 2. memory per connection ≤ ½ centrifuge's | 10.0 / 29.0 KB = 0.34× | **met** |",
			"| 2. memory per connection ≤ 1.5× hapi nes's | 10.0 / 8.0 KB = 1.25× | **met** |",
			"| 4. … and is disconnected at its queue bound | disconnected: false, close code -1 (sent 9.5 MiB, bound 4.0 MiB) | **not met** |",
		}},
	} {
		var lines string
		for server, perConn := range map[string]int{"nes-go": 10000, "hapi-nes": 8000, "centrifuge": 29000} {
			lines += line(server, "conns", fmt.Sprintf(`"conns":%d,"bytes_per_conn":%d`, c.conns, perConn))
		}
		lines += line("nes-go", "slow", fmt.Sprintf(`"subs":100,"burst":500,"bursts":%d,"size":1000,"ratio":1.05,"slow_disconnected":false,"slow_close_code":-1,"rss_before_kb":15000,"rss_peak_kb":16000`, c.bursts))
		tableHas(t, table(loadString(t, lines), nil, ""), c.want...)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567", -1000: "-1,000", -100: "-100"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func loadString(t *testing.T, lines string) *results {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := load(path)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// tableHas checks that md has each of the lines.
func tableHas(t *testing.T, md string, lines ...string) {
	t.Helper()
	for _, want := range lines {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

// The paced rounds run at pacedShare of the slower Go server's standard
// rate, have their own rows, and stay out of the targets.
func TestPacedRounds(t *testing.T) {
	lines := `{"server":"nes-go","scenario":"rtt","requests_per_s":130000,"p50_ms":0.25,"p99_ms":3.7}
{"server":"nes-go","scenario":"rtt","requests_per_s":140000,"p50_ms":0.25,"p99_ms":3.9}
{"server":"centrifuge","scenario":"rtt","requests_per_s":104900,"p50_ms":0.4,"p99_ms":2.2}
{"server":"hapi-nes","scenario":"rtt","requests_per_s":20000,"p50_ms":2,"p99_ms":4}
`
	rs := loadString(t, lines)
	rate, ok := pacedRTTRate(rs)
	if !ok || rate != 83000 { // 0.8 × 104,900 = 83,920, rounded down
		t.Fatalf("pacedRTTRate = %d, %v; want 83000, true", rate, ok)
	}
	if md := table(rs, nil, ""); strings.Contains(md, "paced") {
		t.Errorf("a run without paced rounds has paced rows:\n%s", md)
	}
	rs = loadString(t, lines+`{"server":"nes-go","scenario":"rtt","variant":"paced","rate":83000,"requests_per_s":82990,"p50_ms":0.24,"p99_ms":1.4}
{"server":"centrifuge","scenario":"rtt","variant":"paced","rate":83000,"requests_per_s":82980,"p50_ms":0.33,"p99_ms":1.6}
`)
	tableHas(t, table(rs, nil, ""),
		"| same, the clients paced to 83,000 requests/s in all: requests/s achieved (median of 3; not a target) | 82990 | – | 82980 |",
		"| same, paced: p50 / p99 (ms) | 0.24 / 1.40 | – / – | 0.33 / 1.60 |",
		"| 3. requests/s ≥ centrifuge's RPC | 135000 / 104900 = 1.29× |",
		"| 3. p99 lower than both | 3.80 vs 4.00 (hapi), 2.20 (centrifuge) ms | **not met** |",
	)
}

func TestPacedRateNeedsBothGoServers(t *testing.T) {
	rs := loadString(t, `{"server":"nes-go","scenario":"rtt","requests_per_s":130000,"p50_ms":0.25,"p99_ms":3.7}
`)
	if r, ok := pacedRTTRate(rs); ok {
		t.Fatalf("pacedRTTRate without centrifuge = %d, true; want false", r)
	}
}
