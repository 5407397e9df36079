package router

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// This file holds a slow, independent reference implementation used to
// check Tree: each pattern becomes a Go regular expression (whose submatch
// rules are those of a backtracking engine, like the JavaScript regexps
// @hapi/call builds), and the winner among matching patterns is the one
// with the smallest rank sequence, compared segment by segment.

// oracleRegexp translates p into an anchored regular expression with one
// group per parameter, in declaration order.
func oracleRegexp(p *Pattern) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, seg := range p.segs {
		switch seg.kind {
		case kindLiteral:
			b.WriteString("/" + regexp.QuoteMeta(seg.literal))
		case kindPartial:
			b.WriteString("/")
			for i, l := range seg.partial.lits {
				if i > 0 {
					b.WriteString("([^/]+)")
				}
				b.WriteString(regexp.QuoteMeta(l))
			}
		case kindParam:
			b.WriteString("/([^/]+)")
		case kindOptional:
			b.WriteString("(?:/([^/]*))?")
		case kindMulti:
			fmt.Fprintf(&b, "/([^/]+(?:/[^/]+){%d})", seg.count-1)
		case kindCatchAll:
			b.WriteString("(?:/(.*))?")
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

type oraclePattern struct {
	p  *Pattern
	re *regexp.Regexp
}

func newOracle(patterns []string) []oraclePattern {
	var out []oraclePattern
	for _, s := range patterns {
		p, err := Parse(s)
		if err != nil {
			panic(err)
		}
		out = append(out, oraclePattern{p, oracleRegexp(p)})
	}
	return out
}

// match returns the parameters of path under op, or false.
func (op oraclePattern) match(path string) (Params, bool) {
	m := op.re.FindStringSubmatchIndex(path)
	if m == nil {
		return nil, false
	}
	var ps Params
	for i, name := range op.p.names {
		if m[2+2*i] >= 0 {
			ps = append(ps, Param{name, path[m[2+2*i]:m[3+2*i]]})
		}
	}
	return ps, true
}

// rankItem is the kind of pattern segment that consumed one path segment.
// rank: -1 the pattern ended here, 0 literal, 1 partial, 2 param or
// optional, 3 multi, 4 catch-all (ends the sequence).
type rankItem struct {
	rank int
	pt   *partial
}

// ranks returns the rank sequence of p on a path it matches.
func ranks(p *Pattern, path string) []rankItem {
	var out []rankItem
	s := 1
	for _, seg := range p.segs {
		if seg.kind == kindCatchAll {
			return append(out, rankItem{rank: 4})
		}
		if s > len(path) { // a {name?} matching no segment
			break
		}
		end := segEnd(path, s)
		switch seg.kind {
		case kindLiteral:
			out = append(out, rankItem{rank: 0})
		case kindPartial:
			out = append(out, rankItem{rank: 1, pt: seg.partial})
		case kindParam, kindOptional:
			out = append(out, rankItem{rank: 2})
		case kindMulti:
			out = append(out, rankItem{rank: 3})
			for range seg.count - 1 {
				end = segEnd(path, end+1)
				out = append(out, rankItem{rank: 3})
			}
		}
		s = end + 1
	}
	return append(out, rankItem{rank: -1})
}

func compareRanks(a, b []rankItem) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].rank != b[i].rank {
			if a[i].rank < b[i].rank {
				return -1
			}
			return 1
		}
		if a[i].rank == 1 {
			if c := comparePartial(a[i].pt, b[i].pt); c != 0 {
				return c
			}
		}
	}
	return 0
}

// oracleLookup returns the index of the winning pattern for path, or -1.
// tie reports two matching patterns that rank equally: a conflict that
// Tree.Add should have rejected.
func oracleLookup(ops []oraclePattern, path string) (best int, params Params, tie string) {
	best = -1
	var bestRanks []rankItem
	for i, op := range ops {
		ps, ok := op.match(path)
		if !ok {
			continue
		}
		r := ranks(op.p, path)
		if best >= 0 {
			c := compareRanks(r, bestRanks)
			if c == 0 {
				tie = fmt.Sprintf("%q and %q rank equally on %q", op.p.str, ops[best].p.str, path)
			}
			if c >= 0 {
				continue
			}
		}
		best, params, bestRanks = i, ps, r
	}
	return best, params, tie
}

// substitute rebuilds a path from a pattern and the parameters of a match.
func substitute(p *Pattern, ps Params) string {
	var b strings.Builder
	get := func(name string) (string, bool) {
		for _, kv := range ps {
			if kv.Key == name {
				return kv.Value, true
			}
		}
		return "", false
	}
	for _, seg := range p.segs {
		switch seg.kind {
		case kindLiteral:
			b.WriteString("/" + seg.literal)
		case kindPartial:
			b.WriteString("/")
			for i, l := range seg.partial.lits {
				if i > 0 {
					v, _ := get(seg.partial.names[i-1])
					b.WriteString(v)
				}
				b.WriteString(l)
			}
		default:
			if v, ok := get(seg.name); ok {
				b.WriteString("/" + v)
			}
		}
	}
	return b.String()
}

// checkPath matches path in tree and compares the result with the oracle.
func checkPath(t testing.TB, tree *Tree[int], ops []oraclePattern, path string) {
	t.Helper()
	m, ok := tree.Match(path)
	want, wantParams, tie := oracleLookup(ops, path)
	if tie != "" {
		t.Fatalf("tree accepted conflicting patterns: %s", tie)
	}
	if ok != (want >= 0) {
		if ok {
			t.Fatalf("Match(%q) = %q, oracle: no match", path, m.Pattern)
		}
		t.Fatalf("Match(%q): no match, oracle: %q", path, ops[want].p.str)
	}
	if !ok {
		return
	}
	if m.Pattern != ops[want].p.str || m.Value != want {
		t.Fatalf("Match(%q) = %q (value %d), oracle: %q (value %d)", path, m.Pattern, m.Value, ops[want].p.str, want)
	}
	if !slices.Equal(m.Params, wantParams) {
		t.Fatalf("Match(%q) with %q: params %q, oracle %q", path, m.Pattern, m.Params, wantParams)
	}
	if got := substitute(ops[want].p, m.Params); got != path {
		t.Fatalf("Match(%q) with %q: params %q substitute back to %q", path, m.Pattern, m.Params, got)
	}
	for _, kv := range m.Params {
		if !isSubstring(path, kv.Value) {
			t.Fatalf("Match(%q): param %q is not a substring of the path", path, kv)
		}
	}
}

// isSubstring reports whether v shares memory with path (or is empty).
func isSubstring(path, v string) bool {
	if v == "" {
		return true
	}
	base := uintptr(unsafe.Pointer(unsafe.StringData(path)))
	at := uintptr(unsafe.Pointer(unsafe.StringData(v)))
	return at >= base && at+uintptr(len(v)) <= base+uintptr(len(path))
}
