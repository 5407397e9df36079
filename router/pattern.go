package router

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxMultiCount is the largest N accepted in a multi-segment parameter
// {name*N}.
const MaxMultiCount = 255

// segKind is the kind of one pattern segment. The order of the constants is
// not the precedence order; see the package documentation for that.
type segKind uint8

const (
	kindLiteral  segKind = iota // news
	kindPartial                 // {name}.{ext}, v{version}
	kindParam                   // {name}
	kindOptional                // {name?}, last segment only
	kindMulti                   // {name*N}
	kindCatchAll                // {name*}, last segment only
)

// segment is one "/"-separated piece of a parsed pattern.
type segment struct {
	kind    segKind
	literal string   // kindLiteral: the text; may be "" for a trailing slash
	name    string   // param, optional, multi, catch-all: the parameter name
	count   int      // kindMulti: N
	partial *partial // kindPartial
}

// partial describes a segment mixing literal text and parameters:
// lits[0] names[0] lits[1] names[1] ... names[k-1] lits[k]. lits[0] and
// lits[k] may be empty; the inner literals never are, so two parameters
// are always separated by literal text.
type partial struct {
	lits  []string
	names []string
	key   string // lits joined by "{}": identical keys match identical sets
}

// Pattern is a parsed subscription pattern. Obtain one with [Parse].
// A Pattern is immutable and safe for concurrent use.
type Pattern struct {
	str   string
	segs  []segment
	names []string
	fp    string // fingerprint: equal fingerprints match equal path sets
}

// ParseError describes a pattern that cannot be parsed.
type ParseError struct {
	Pattern string // the pattern as given
	Offset  int    // byte offset in Pattern of the offending text
	Msg     string // what is wrong
}

// Error returns a message of the form
// `router: invalid pattern "/a//b": empty segment at offset 3`.
func (e *ParseError) Error() string {
	return fmt.Sprintf("router: invalid pattern %q: %s at offset %d", e.Pattern, e.Msg, e.Offset)
}

// String returns the pattern exactly as it was given to [Parse].
func (p *Pattern) String() string { return p.str }

// HasParams reports whether the pattern declares at least one parameter.
func (p *Pattern) HasParams() bool { return len(p.names) > 0 }

// ParamNames returns the parameter names in the order they appear in the
// pattern. The result is a fresh slice the caller may modify; it is nil
// when the pattern has no parameters.
func (p *Pattern) ParamNames() []string {
	if len(p.names) == 0 {
		return nil
	}
	return append([]string(nil), p.names...)
}

// Parse parses a subscription pattern. See the package documentation for
// the syntax. Errors are of type *[ParseError].
func Parse(pattern string) (*Pattern, error) {
	fail := func(off int, format string, args ...any) (*Pattern, error) {
		return nil, &ParseError{Pattern: pattern, Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	if pattern == "" {
		return fail(0, "pattern is empty; it must start with \"/\"")
	}
	if pattern[0] != '/' {
		return fail(0, "pattern must start with \"/\"")
	}
	p := &Pattern{str: pattern}
	var fp strings.Builder
	seen := make(map[string]bool)
	addName := func(off int, name string) error {
		if seen[name] {
			return &ParseError{Pattern: pattern, Offset: off, Msg: fmt.Sprintf("duplicate parameter name %q in segment %q", name, pattern[off:min(len(pattern), off+strings.IndexByte(pattern[off:]+"/", '/'))])}
		}
		seen[name] = true
		p.names = append(p.names, name)
		return nil
	}

	start := 1 // offset of the current segment
	for {
		end := strings.IndexByte(pattern[start:], '/')
		last := end < 0
		if last {
			end = len(pattern)
		} else {
			end += start
		}
		raw := pattern[start:end]
		if raw == "" && !last {
			return fail(start, "empty segment")
		}
		if len(p.segs) > 0 {
			switch prev := p.segs[len(p.segs)-1]; prev.kind {
			case kindOptional:
				return fail(start-1, "optional parameter {%s?} must be the last segment", prev.name)
			case kindCatchAll:
				return fail(start-1, "catch-all parameter {%s*} must be the last segment", prev.name)
			}
		}
		seg, err := parseSegment(pattern, start, raw)
		if err != nil {
			return nil, err
		}
		switch seg.kind {
		case kindLiteral:
			fp.WriteByte('/')
			fp.WriteString(seg.literal)
		case kindPartial:
			for _, name := range seg.partial.names {
				if err := addName(start, name); err != nil {
					return nil, err
				}
			}
			fp.WriteByte('/')
			fp.WriteString(seg.partial.key)
		default:
			if err := addName(start, seg.name); err != nil {
				return nil, err
			}
			switch seg.kind {
			case kindParam:
				fp.WriteString("/{}")
			case kindOptional:
				fp.WriteString("/{?}")
			case kindCatchAll:
				fp.WriteString("/{*}")
			case kindMulti:
				// {m*N} matches exactly what N {param} segments match.
				for range seg.count {
					fp.WriteString("/{}")
				}
			}
		}
		p.segs = append(p.segs, seg)
		if last {
			break
		}
		start = end + 1
	}
	p.fp = fp.String()
	return p, nil
}

// parseSegment parses the segment raw, which starts at byte offset off of
// pattern.
func parseSegment(pattern string, off int, raw string) (segment, error) {
	fail := func(at int, format string, args ...any) (segment, error) {
		return segment{}, &ParseError{Pattern: pattern, Offset: at, Msg: fmt.Sprintf(format, args...)}
	}
	if !strings.ContainsAny(raw, "{}") {
		if i, msg := badLiteral(raw); msg != "" {
			return fail(off+i, "%s in segment %q", msg, raw)
		}
		return segment{kind: kindLiteral, literal: raw}, nil
	}

	// Split into literal runs and {…} parameters.
	type token struct {
		off     int // offset within raw
		literal bool
		text    string // literal text, or the content between the braces
	}
	var toks []token
	for i := 0; i < len(raw); {
		switch raw[i] {
		case '{':
			j := strings.IndexAny(raw[i+1:], "{}")
			if j < 0 || raw[i+1+j] == '{' {
				return fail(off+i, "unclosed \"{\" in segment %q", raw)
			}
			toks = append(toks, token{off: i, text: raw[i+1 : i+1+j]})
			i += j + 2
		case '}':
			return fail(off+i, "unexpected \"}\" in segment %q", raw)
		default:
			j := strings.IndexAny(raw[i:], "{}")
			if j < 0 {
				j = len(raw) - i
			}
			lit := raw[i : i+j]
			if k, msg := badLiteral(lit); msg != "" {
				return fail(off+i+k, "%s in segment %q", msg, raw)
			}
			toks = append(toks, token{off: i, literal: true, text: lit})
			i += j
		}
	}

	if len(toks) == 1 {
		// A whole-segment parameter: {name}, {name?}, {name*}, {name*N}.
		t := toks[0]
		n := 0
		for n < len(t.text) && isNameByte(t.text[n]) {
			n++
		}
		name, mod := t.text[:n], t.text[n:]
		if name == "" {
			return fail(off+1, "missing parameter name in %q (names are [A-Za-z0-9_]+)", raw)
		}
		switch {
		case mod == "":
			return segment{kind: kindParam, name: name}, nil
		case mod == "?":
			return segment{kind: kindOptional, name: name}, nil
		case mod == "*":
			return segment{kind: kindCatchAll, name: name}, nil
		case mod[0] == '*':
			digits := mod[1:]
			if !allDigits(digits) {
				return fail(off+1+n, "invalid multi-segment count %q in %q", digits, raw)
			}
			if digits[0] == '0' {
				return fail(off+1+n+1, "multi-segment count in %q must be a positive number without leading zeros", raw)
			}
			c, err := strconv.Atoi(digits)
			if err != nil || c > MaxMultiCount {
				return fail(off+1+n+1, "multi-segment count in %q exceeds %d", raw, MaxMultiCount)
			}
			return segment{kind: kindMulti, name: name, count: c}, nil
		default:
			return fail(off+1+n, "invalid character %q in parameter %q (names are [A-Za-z0-9_]+, modifiers ?, * or *N)", mod[0], raw)
		}
	}

	// A partial segment: literal text mixed with plain {name} parameters.
	pt := &partial{}
	prevParam := false
	for i, t := range toks {
		if t.literal {
			pt.lits = append(pt.lits, t.text)
			prevParam = false
			continue
		}
		if prevParam {
			return fail(off+t.off, "parameters in segment %q must be separated by literal text", raw)
		}
		if i == 0 {
			pt.lits = append(pt.lits, "")
		}
		for k := 0; k < len(t.text); k++ {
			if !isNameByte(t.text[k]) {
				if t.text[k] == '?' || t.text[k] == '*' {
					return fail(off+t.off+1+k, "modifier %q not allowed in partial segment %q; only {name} may be mixed with literal text", t.text[k], raw)
				}
				return fail(off+t.off+1+k, "invalid character %q in parameter name in segment %q (names are [A-Za-z0-9_]+)", t.text[k], raw)
			}
		}
		if t.text == "" {
			return fail(off+t.off+1, "missing parameter name in segment %q", raw)
		}
		pt.names = append(pt.names, t.text)
		prevParam = true
	}
	if prevParam {
		pt.lits = append(pt.lits, "")
	}
	pt.key = strings.Join(pt.lits, "{}")
	return segment{kind: kindPartial, partial: pt}, nil
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// badLiteral checks that s consists of RFC 3986 path characters (pchar):
// unreserved, sub-delims, ':', '@' and %XX escapes. It returns the offset
// and a description of the first offending byte, or "" when s is valid.
func badLiteral(s string) (int, string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isNameByte(c) || strings.IndexByte("-.~!$&'()*+,;=:@", c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return i, "\"%\" not followed by two hex digits"
			}
			i += 2
		case c == '?':
			return i, "query (\"?\") not allowed"
		case c == '#':
			return i, "fragment (\"#\") not allowed"
		default:
			return i, fmt.Sprintf("invalid character %q", c)
		}
	}
	return 0, ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// match reports whether seg (one path segment, without "/") matches the
// partial segment.
func (pt *partial) match(seg string) bool {
	_, ok := pt.scan(seg, nil)
	return ok
}

// scan matches seg against pt. Parameters are greedy from left to right,
// like the regular expression ^lit0(.+)lit1(.+)…litk$ that @hapi/call
// builds: the first parameter takes as much as it can while the rest still
// matches, then the second, and so on. That assignment is the one that
// places every inner literal at its rightmost feasible position, which is
// found right to left without backtracking. If vals is non-nil (len(vals)
// == len(pt.names)) the parameter values are stored in it as substrings of
// seg.
func (pt *partial) scan(seg string, vals []Param) (int, bool) {
	k := len(pt.names)
	pre, suf := pt.lits[0], pt.lits[k]
	if len(seg) < len(pre)+len(suf)+k || !strings.HasPrefix(seg, pre) || !strings.HasSuffix(seg, suf) {
		return 0, false
	}
	lo, end := len(pre), len(seg)-len(suf)
	for i := k - 1; i >= 1; i-- {
		// lits[i] must end at least one byte before end (param i is non-empty).
		if end-1 <= lo {
			return 0, false
		}
		j := strings.LastIndex(seg[lo:end-1], pt.lits[i])
		if j < 0 {
			return 0, false
		}
		at := lo + j
		if vals != nil {
			vals[i] = Param{Key: pt.names[i], Value: seg[at+len(pt.lits[i]) : end]}
		}
		end = at
	}
	if end <= lo {
		return 0, false
	}
	if vals != nil {
		vals[0] = Param{Key: pt.names[0], Value: seg[lo:end]}
	}
	return k, true
}

// comparePartial orders partial segments by specificity, following
// @hapi/call: more pieces (literal runs plus parameters) first; then a
// segment starting with literal text before one starting with a parameter;
// then the literal runs left to right, a longer run first and, for runs of
// equal length, the byte-wise smaller one first. It returns 0 only for
// partials of identical structure.
func comparePartial(a, b *partial) int {
	pa, pb := a.pieces(), b.pieces()
	if pa != pb {
		if pa > pb {
			return -1
		}
		return 1
	}
	if fa, fb := a.lits[0] == "", b.lits[0] == ""; fa != fb {
		if fa {
			return 1
		}
		return -1
	}
	// Same piece count and same first piece: the structures align.
	for i := range a.lits {
		x, y := a.lits[i], b.lits[i]
		if x == y {
			continue
		}
		if len(x) != len(y) {
			if len(x) > len(y) {
				return -1
			}
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	return 0
}

// pieces counts the literal runs and parameters of the partial.
func (pt *partial) pieces() int {
	n := len(pt.names)
	for _, l := range pt.lits {
		if l != "" {
			n++
		}
	}
	return n
}
