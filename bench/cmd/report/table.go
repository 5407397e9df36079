package main

import (
	"fmt"
	"strconv"
	"strings"
)

// cell formats a value or "–" when the run has none.
func cell(v float64, ok bool, format string) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

// verdict says whether a target holds, or that it could not be checked.
func verdict(ok, measured bool) string {
	switch {
	case !measured:
		return "not measured"
	case ok:
		return "**met**"
	default:
		return "**not met**"
	}
}

// The sizes the targets are defined on. A smaller run (QUICK=1) shows its
// figures, but its verdicts on these targets are "not measured".
const (
	targetConns = 10000 // memory per idle connection: over 10,000
	// nesQueueBound is nes's default MaxQueueBytes: the stalled subscriber
	// can only be disconnected if the run sends it more than this.
	nesQueueBound = 4 << 20
)

// idleConns is the connection count of nes-go's conns scenario, or
// targetConns when there is none.
func idleConns(rs *results) int {
	if n, ok := rs.value("nes-go", "conns", nil, "conns"); ok {
		return int(n)
	}
	return targetConns
}

// sentToStalled is what the slow scenario published to the stalled
// subscriber, in bytes.
func sentToStalled(r result) float64 {
	bursts, _ := r.num("bursts")
	burst, _ := r.num("burst")
	size, _ := r.num("size")
	return bursts * burst * size
}

// standard selects the runs made as the issue describes them (server and
// load tool sharing the cores), on which the targets are checked; pinned
// the rtt rounds run with the server and the load tool on a core each.
var (
	standard = map[string]any{"variant": nil} // no variant field
	pinned   = map[string]any{"variant": "pinned"}
	paced    = map[string]any{"variant": "paced"}
)

// pacedShare is the share of the slower Go server's requests/s (standard
// rounds) at which the paced rtt rounds run every server.
const pacedShare = 0.8

// pacedRTTRate is the rate of the paced rtt rounds: pacedShare of the lower
// of nes-go's and centrifuge's median requests/s in the standard rounds,
// rounded down to a thousand (at least 1,000). The two then serve the same
// load, which both can carry.
func pacedRTTRate(rs *results) (int, bool) {
	n, okn := rs.value("nes-go", "rtt", standard, "requests_per_s")
	c, okc := rs.value("centrifuge", "rtt", standard, "requests_per_s")
	if !okn || !okc {
		return 0, false
	}
	return max(1000, int(pacedShare*min(n, c))/1000*1000), true
}

func table(rs *results, allocs map[int]int, machine string) string {
	var b strings.Builder
	if machine != "" {
		fmt.Fprintf(&b, "%s\n\n", machine)
	}
	b.WriteString("| workload | nes-go | hapi nes | centrifuge |\n|---|---|---|---|\n")
	// row writes one line: the fields of one result per server, scaled,
	// joined with " / ".
	row := func(name, scenario string, match map[string]any, scale float64, format string, fields ...string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, s := range servers {
			var parts []string
			for _, f := range fields {
				v, ok := rs.value(s, scenario, match, f)
				parts = append(parts, cell(v*scale, ok, format))
			}
			fmt.Fprintf(&b, " %s |", strings.Join(parts, " / "))
		}
		b.WriteString("\n")
	}
	f1k := map[string]any{"subs": 1000, "round": "median"}
	f10k := map[string]any{"subs": 10000, "round": "median"}
	row("fan-out 1,000 × 200: server CPU per delivery (µs)", "fanout", f1k, 1, "%.2f", "server_cpu_us_per_delivery")
	row("fan-out 1,000 × 200: deliveries/s", "fanout", f1k, 1, "%.0f", "deliveries_per_s")
	row("fan-out 1,000 × 200: latency p50 / p99 (ms)", "fanout", f1k, 1, "%.1f", "p50_ms", "p99_ms")
	row("fan-out 10,000 × 200: server CPU per delivery (µs)", "fanout", f10k, 1, "%.2f", "server_cpu_us_per_delivery")
	row("fan-out 10,000 × 200: deliveries/s", "fanout", f10k, 1, "%.0f", "deliveries_per_s")
	row("fan-out 10,000 × 200: latency p50 / p99 (ms)", "fanout", f10k, 1, "%.1f", "p50_ms", "p99_ms")
	row(fmt.Sprintf("memory per idle connection (KB: RSS delta over %s)", thousands(idleConns(rs))), "conns", nil, 1.0/1000, "%.1f", "bytes_per_conn")
	row("requests over the socket, 50 clients: requests/s (median of 3 runs)", "rtt", standard, 1, "%.0f", "requests_per_s")
	row("requests over the socket: p50 / p99 (ms)", "rtt", standard, 1, "%.2f", "p50_ms", "p99_ms")
	row("same, server and load tool on a core each: requests/s (median of 3; not a target)", "rtt", pinned, 1, "%.0f", "requests_per_s")
	row("same, on a core each: p50 / p99 (ms)", "rtt", pinned, 1, "%.2f", "p50_ms", "p99_ms")
	if rate, ok := rs.value("nes-go", "rtt", paced, "rate"); ok {
		row(fmt.Sprintf("same, the clients paced to %s requests/s in all: requests/s achieved (median of 3; not a target)", thousands(int(rate))), "rtt", paced, 1, "%.0f", "requests_per_s")
		row("same, paced: p50 / p99 (ms)", "rtt", paced, 1, "%.2f", "p50_ms", "p99_ms")
	}
	row("plain HTTP/1.1 keep-alive, same route, 50 clients: requests/s (median of 3)", "httprtt", nil, 1, "%.0f", "requests_per_s")
	row("plain HTTP/1.1: p50 / p99 (ms)", "httprtt", nil, 1, "%.2f", "p50_ms", "p99_ms")
	row("connections opened and closed per second (50 in parallel)", "connect", nil, 1, "%.0f", "handshakes_per_s")
	row("stalled subscriber: healthy delivery rate, with / without it", "slow", nil, 1, "%.2f", "ratio")
	row("stalled subscriber: server RSS before / peak (MB)", "slow", nil, 1.0/1024, "%.0f", "rss_before_kb", "rss_peak_kb")
	b.WriteString("\n")
	b.WriteString(targets(rs, allocs))
	return b.String()
}

func targets(rs *results, allocs map[int]int) string {
	var b strings.Builder
	b.WriteString("| target | measured | |\n|---|---|---|\n")
	f1k := map[string]any{"subs": 1000, "round": "median"}
	f10k := map[string]any{"subs": 10000, "round": "median"}
	const cpu = "server_cpu_us_per_delivery"
	n1, ok1 := rs.value("nes-go", "fanout", f1k, cpu)
	c1, okc1 := rs.value("centrifuge", "fanout", f1k, cpu)
	n10, ok10 := rs.value("nes-go", "fanout", f10k, cpu)
	c10, okc10 := rs.value("centrifuge", "fanout", f10k, cpu)
	fmt.Fprintf(&b, "| 1. CPU per delivery ≤ ½ centrifuge's at 1,000 | %.2f / %.2f = %.2f× | %s |\n", n1, c1, n1/c1, verdict(n1 <= c1/2, ok1 && okc1))
	fmt.Fprintf(&b, "| 1. CPU per delivery ≤ ½ centrifuge's at 10,000 | %.2f / %.2f = %.2f× | %s |\n", n10, c10, n10/c10, verdict(n10 <= c10/2, ok10 && okc10))
	fmt.Fprintf(&b, "| 1. ours at 10,000 ≤ 1.5× ours at 1,000 | %.2f / %.2f = %.2f× | %s |\n", n10, n1, n10/n1, verdict(n10 <= 1.5*n1, ok1 && ok10))

	nm, okn := rs.value("nes-go", "conns", nil, "bytes_per_conn")
	cm, okc := rs.value("centrifuge", "conns", nil, "bytes_per_conn")
	hm, okh := rs.value("hapi-nes", "conns", nil, "bytes_per_conn")
	// Measured as the target is defined only over 10,000 connections, and
	// with the same count for every server.
	over := ""
	for _, s := range servers {
		if n, ok := rs.value(s, "conns", nil, "conns"); ok && int(n) != targetConns {
			okn, over = false, fmt.Sprintf(" (over %s)", thousands(int(n)))
		}
	}
	fmt.Fprintf(&b, "| 2. memory per connection ≤ ½ centrifuge's | %.1f / %.1f KB = %.2f×%s | %s |\n", nm/1000, cm/1000, nm/cm, over, verdict(nm <= cm/2, okn && okc))
	fmt.Fprintf(&b, "| 2. memory per connection ≤ 1.5× hapi nes's | %.1f / %.1f KB = %.2f×%s | %s |\n", nm/1000, hm/1000, nm/hm, over, verdict(nm <= 1.5*hm, okn && okh))

	nr, oknr := rs.value("nes-go", "rtt", standard, "requests_per_s")
	cr, okcr := rs.value("centrifuge", "rtt", standard, "requests_per_s")
	hr, okhr := rs.value("hapi-nes", "rtt", standard, "requests_per_s")
	np, _ := rs.value("nes-go", "rtt", standard, "p99_ms")
	cp, _ := rs.value("centrifuge", "rtt", standard, "p99_ms")
	hp, _ := rs.value("hapi-nes", "rtt", standard, "p99_ms")
	xr, okxr := rs.value("nes-go", "httprtt", nil, "requests_per_s")
	fmt.Fprintf(&b, "| 3. requests/s ≥ centrifuge's RPC | %.0f / %.0f = %.2f× | %s |\n", nr, cr, nr/cr, verdict(nr >= cr, oknr && okcr))
	fmt.Fprintf(&b, "| 3. requests/s ≥ 5× hapi nes's | %.0f / %.0f = %.2f× | %s |\n", nr, hr, nr/hr, verdict(nr >= 5*hr, oknr && okhr))
	fmt.Fprintf(&b, "| 3. p99 lower than both | %.2f vs %.2f (hapi), %.2f (centrifuge) ms | %s |\n", np, hp, cp, verdict(np < hp && np < cp, oknr && okcr && okhr))
	fmt.Fprintf(&b, "| 3. faster than plain HTTP/1.1 keep-alive | %.0f / %.0f = %.2f× | %s |\n", nr, xr, nr/xr, verdict(nr > xr, oknr && okxr))

	slow := rs.find("nes-go", "slow", nil)
	if slow != nil {
		ratio, _ := slow.num("ratio")
		before, _ := slow.num("rss_before_kb")
		peak, _ := slow.num("rss_peak_kb")
		disc := slow["slow_disconnected"] == true
		fmt.Fprintf(&b, "| 4. a stalled subscriber costs the others < 10%% | rate ratio %.2f | %s |\n", ratio, verdict(ratio >= 0.9, true))
		sent := sentToStalled(slow)
		fmt.Fprintf(&b, "| 4. … and is disconnected at its queue bound | disconnected: %v, close code %v (sent %.1f MiB, bound %.1f MiB) | %s |\n",
			disc, slow["slow_close_code"], sent/(1<<20), float64(nesQueueBound)/(1<<20), verdict(disc, sent > nesQueueBound))
		fmt.Fprintf(&b, "| 4. … with the server's memory bounded | RSS %.0f → %.0f MB | %s |\n", before/1024, peak/1024, verdict(peak-before < 64*1024, true))
	} else {
		b.WriteString("| 4. stalled subscriber | – | not measured |\n")
	}
	a1, ok1a := allocs[1]
	a10k, ok10a := allocs[10000]
	fmt.Fprintf(&b, "| 5. allocations per publish independent of subscribers | %d (1 subscriber) vs %d (10,000) | %s |\n", a1, a10k, verdict(a10k <= a1, ok1a && ok10a))
	return b.String()
}

// thousands formats a count with commas: 10000 → "10,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
