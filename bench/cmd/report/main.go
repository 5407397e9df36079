// Command report turns the JSON lines of bench/run.sh (one per load-tool
// result) and the output of the Go publish benchmark into a markdown table
// of the three servers with the targets of the side-by-side benchmark, a PNG
// chart, and the table section of docs/benchmarks.md.
//
//	report -results results/latest.jsonl -gobench results/latest-gobench.txt \
//	       -md results/latest.md -png results/latest.png -docs ../docs/benchmarks.md
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The servers, in table order, as the load tool labels them.
var servers = []string{"nes-go", "hapi-nes", "centrifuge"}

// result is one JSON line of the load tool.
type result map[string]any

func (r result) num(k string) (float64, bool) {
	v, ok := r[k].(float64)
	return v, ok
}

type results struct {
	lines []result
}

// find returns the result of server for scenario whose fields match.
func (rs *results) find(server, scenario string, match map[string]any) result {
	for _, r := range rs.lines {
		if r["server"] == server && r["scenario"] == scenario && r.matches(match) {
			return r
		}
	}
	return nil
}

// matches reports whether r has every field of match.
func (r result) matches(match map[string]any) bool {
	for k, v := range match {
		if fmt.Sprint(r[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// value returns field of server's results for scenario whose fields match:
// the median when the scenario ran several times (rtt and httprtt run three
// times, interleaved with the other servers').
func (rs *results) value(server, scenario string, match map[string]any, field string) (float64, bool) {
	var vs []float64
	for _, r := range rs.lines {
		if r["server"] != server || r["scenario"] != scenario || !r.matches(match) {
			continue
		}
		if v, ok := r.num(field); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	sort.Float64s(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}

func main() {
	in := flag.String("results", "results/latest.jsonl", "JSON lines of the load tool")
	gobench := flag.String("gobench", "", "output of go test -bench BenchmarkPublish -benchmem")
	mdOut := flag.String("md", "", "write the markdown table here")
	pngOut := flag.String("png", "", "write the chart here")
	docs := flag.String("docs", "", "replace the section between the bench markers of this markdown file")
	machine := flag.String("machine", "", "one line describing the machine and the run")
	pacedRate := flag.Bool("paced-rate", false, "print the request rate of the paced rtt rounds, from the standard ones, and exit")
	flag.Parse()

	rs, err := load(*in)
	if err != nil {
		fail(err)
	}
	if *pacedRate {
		r, ok := pacedRTTRate(rs)
		if !ok {
			fail(fmt.Errorf("%s: no standard rtt rounds of nes-go and centrifuge", *in))
		}
		fmt.Println(r)
		return
	}
	allocs, err := loadAllocs(*gobench)
	if err != nil {
		fail(err)
	}
	md := table(rs, allocs, *machine)
	os.Stdout.WriteString(md)
	if *mdOut != "" {
		if err := os.WriteFile(*mdOut, []byte(md), 0o644); err != nil {
			fail(err)
		}
	}
	if *pngOut != "" {
		if err := writeChart(*pngOut, rs); err != nil {
			fail(err)
		}
	}
	if *docs != "" {
		if err := replaceSection(*docs, md); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

func load(path string) (*results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs := &results{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r result
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rs.lines = append(rs.lines, r)
	}
	return rs, sc.Err()
}

var benchLine = regexp.MustCompile(`BenchmarkPublish/subscribers=(\d+)\S*\s+\d+\s+.*?(\d+) allocs/op`)

// loadAllocs reads allocs/op per subscriber count from go test output.
func loadAllocs(path string) (map[int]int, error) {
	out := map[int]int{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, m := range benchLine.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		a, _ := strconv.Atoi(m[2])
		out[n] = a // the last run of each size wins
	}
	return out, nil
}

const (
	beginMarker = "<!-- bench:begin (written by bench/run.sh) -->"
	endMarker   = "<!-- bench:end -->"
)

func replaceSection(path, md string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q … %q section", path, beginMarker, endMarker)
	}
	s = s[:i+len(beginMarker)] + "\n" + md + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
