package router

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nes-go/nes/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestParseOK(t *testing.T) {
	tests := []struct {
		pattern string
		fp      string
		names   []string
	}{
		{"/", "/", nil},
		{"/news", "/news", nil},
		{"/news/", "/news/", nil},
		{"/a/b/c", "/a/b/c", nil},
		{"/a-b.c_d~e/!$&'()*+,;=:@", "/a-b.c_d~e/!$&'()*+,;=:@", nil},
		{"/caf%C3%A9/%2f", "/caf%C3%A9/%2f", nil},
		{"/rooms/{room}", "/rooms/{}", []string{"room"}},
		{"/rooms/{room}/", "/rooms/{}/", []string{"room"}},
		{"/{a}/{b}", "/{}/{}", []string{"a", "b"}},
		{"/items/{id?}", "/items/{?}", []string{"id"}},
		{"/{id?}", "/{?}", []string{"id"}},
		{"/files/{path*}", "/files/{*}", []string{"path"}},
		{"/{path*}", "/{*}", []string{"path"}},
		{"/a/{m*2}/b", "/a/{}/{}/b", []string{"m"}},
		{"/a/{m*1}", "/a/{}", []string{"m"}},
		{"/a/{m*3}/", "/a/{}/{}/{}/", []string{"m"}},
		{"/a/{m*255}", "/a" + strings.Repeat("/{}", 255), []string{"m"}},
		{"/files/{name}.{ext}", "/files/{}.{}", []string{"name", "ext"}},
		{"/a{b}c", "/a{}c", []string{"b"}},
		{"/v{version}/x", "/v{}/x", []string{"version"}},
		{"/{x}-", "/{}-", []string{"x"}},
		{"/{a}.{b}.{c}", "/{}.{}.{}", []string{"a", "b", "c"}},
		{"/p{a}--{b}q/{c*}", "/p{}--{}q/{*}", []string{"a", "b", "c"}},
		{"/A/{Upper_0}", "/A/{}", []string{"Upper_0"}},
		{"/{a}/x{b}/{c*2}/{d*}", "/{}/x{}/{}/{}/{*}", []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		p, err := Parse(tt.pattern)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.pattern, err)
			continue
		}
		if p.String() != tt.pattern {
			t.Errorf("Parse(%q).String() = %q", tt.pattern, p.String())
		}
		if p.fp != tt.fp {
			t.Errorf("Parse(%q) fingerprint = %q, want %q", tt.pattern, p.fp, tt.fp)
		}
		if got := p.ParamNames(); !slices.Equal(got, tt.names) {
			t.Errorf("Parse(%q).ParamNames() = %q, want %q", tt.pattern, got, tt.names)
		}
		if p.HasParams() != (len(tt.names) > 0) {
			t.Errorf("Parse(%q).HasParams() = %v", tt.pattern, p.HasParams())
		}
	}
}

func TestParamNamesIsACopy(t *testing.T) {
	p, err := Parse("/{a}/{b}")
	if err != nil {
		t.Fatal(err)
	}
	p.ParamNames()[0] = "zzz"
	if got := p.ParamNames()[0]; got != "a" {
		t.Fatalf("ParamNames()[0] = %q after modifying a returned slice", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		pattern string
		offset  int
		msg     string // substring of the message
	}{
		{"", 0, "empty"},
		{"news", 0, `start with "/"`},
		{"//", 1, "empty segment"},
		{"/a//b", 3, "empty segment"},
		{"/a/b//", 5, "empty segment"},
		{"/a?b=1", 2, `query ("?")`},
		{"/a#frag", 2, `fragment ("#")`},
		{"/a b", 2, "invalid character ' '"},
		{"/é", 1, "invalid character"},
		{"/a%zz", 2, `"%" not followed by two hex digits`},
		{"/a%2", 2, `"%" not followed by two hex digits`},
		{"/{", 1, `unclosed "{"`},
		{"/a/{b", 3, `unclosed "{"`},
		{"/{a{b}}", 1, `unclosed "{"`},
		{"/a}", 2, `unexpected "}"`},
		{"/{a}}", 4, `unexpected "}"`},
		{"/{}", 2, "missing parameter name"},
		{"/{?}", 2, "missing parameter name"},
		{"/x{}", 3, "missing parameter name"},
		{"/{a-b}", 3, "invalid character '-'"},
		{"/{a b}", 3, "invalid character ' '"},
		{"/{a?}/b", 5, "optional parameter {a?} must be the last segment"},
		{"/{a?}/", 5, "must be the last segment"},
		{"/{a*}/b", 5, "catch-all parameter {a*} must be the last segment"},
		{"/{a*}/", 5, "must be the last segment"},
		{"/{a*0}", 4, "positive number"},
		{"/{a*01}", 4, "positive number"},
		{"/{a*x}", 3, "invalid multi-segment count"},
		{"/{a*2?}", 3, "invalid multi-segment count"},
		{"/{a*256}", 4, "exceeds 255"},
		{"/{a*99999999999999999999999}", 4, "exceeds 255"},
		{"/{a??}", 3, "invalid character"},
		{"/{a}{b}", 4, "separated by literal text"},
		{"/x{a}{b}y", 5, "separated by literal text"},
		{"/x{a?}", 4, `modifier '?' not allowed in partial segment`},
		{"/{a*}.x", 3, `modifier '*' not allowed in partial segment`},
		{"/{a*2}x", 3, `modifier '*' not allowed in partial segment`},
		{"/{a}/{a}", 5, `duplicate parameter name "a"`},
		{"/{a}/{a*}", 5, `duplicate parameter name "a"`},
		{"/{a}.{a}", 1, `duplicate parameter name "a"`},
		{"/x/{a}.{b}/{b?}", 11, `duplicate parameter name "b"`},
		{"/a/b?", 4, `query ("?")`},
	}
	for _, tt := range tests {
		p, err := Parse(tt.pattern)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error", tt.pattern, p.segs)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error %T, want *ParseError", tt.pattern, err)
			continue
		}
		if pe.Pattern != tt.pattern || pe.Offset != tt.offset || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("Parse(%q) = %+v, want offset %d and message containing %q", tt.pattern, *pe, tt.offset, tt.msg)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "router: ") || !strings.Contains(msg, strings.ReplaceAll(tt.pattern, `"`, `\"`)) {
			t.Errorf("Parse(%q) error %q: want router: prefix and the pattern", tt.pattern, msg)
		}
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("/a//b")
	want := `router: invalid pattern "/a//b": empty segment at offset 3`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestPartialScan(t *testing.T) {
	tests := []struct {
		segment, input string
		want           []string // nil: no match
	}{
		{"{name}.{ext}", "a.b", []string{"a", "b"}},
		{"{name}.{ext}", "archive.tar.gz", []string{"archive.tar", "gz"}},
		{"{name}.{ext}", ".b", nil},
		{"{name}.{ext}", "a.", nil},
		{"{name}.{ext}", "ab", nil},
		{"{name}.{ext}", "..", nil},
		{"{name}.{ext}", "...", []string{".", "."}},
		{"a{b}c", "abc", []string{"b"}},
		{"a{b}c", "ac", nil},
		{"a{b}c", "abbc", []string{"bb"}},
		{"a{b}c", "acc", []string{"c"}},
		{"a{b}a", "aa", nil},
		{"a{b}a", "aaa", []string{"a"}},
		{"v{version}", "v", nil},
		{"v{version}", "v1", []string{"1"}},
		{"v{version}", "vv", []string{"v"}},
		{"{x}-", "--", []string{"-"}},
		{"{a}x{b}xy{c}", "1x2xy3xy4", []string{"1x2", "y3", "4"}},
		{"{a}.{b}.{c}", "1.2.3.4.5", []string{"1.2.3", "4", "5"}},
		{"{a}.{b}.{c}", "1..2", nil},
		{"{a}.{b}.{c}", "1...2", []string{"1", ".", "2"}},
		{"p{a}--{b}q", "p--q", nil},
		{"p{a}--{b}q", "p---q", nil},
		{"p{a}--{b}q", "px--yq", []string{"x", "y"}},
		{"p{a}--{b}q", "p----q", []string{"-", "-"}},
		{"p{a}--{b}q", "p-----q", []string{"--", "-"}},
		{"{a}aa{b}", "xaaay", []string{"xa", "y"}},
		{"{a}aa{b}", "aaaa", []string{"a", "a"}},
	}
	for _, tt := range tests {
		p, err := Parse("/" + tt.segment)
		if err != nil {
			t.Fatal(err)
		}
		pt := p.segs[0].partial
		vals := make([]Param, len(pt.names))
		_, ok := pt.scan(tt.input, vals)
		if ok != (tt.want != nil) || ok != pt.match(tt.input) {
			t.Errorf("%s on %q: ok = %v, want %v", tt.segment, tt.input, ok, tt.want != nil)
			continue
		}
		if !ok {
			continue
		}
		for i, v := range vals {
			if v.Key != pt.names[i] || v.Value != tt.want[i] {
				t.Errorf("%s on %q: got %v, want %q", tt.segment, tt.input, vals, tt.want)
				break
			}
		}
	}
}

func TestComparePartial(t *testing.T) {
	// Sorted most specific first, following @hapi/call's mixed order.
	sorted := []string{
		"a{b}c{d}e", // 5 pieces
		"ab{c}d",    // 3 pieces, literal first, longer first literal
		"a{c}dd",    // 3 pieces, literal first: "a" < "ab" by length
		"a{c}d",
		"{a}--{b}", // 3 pieces, param first, longer literal
		"{a}-{b}",  // '-' < '.'
		"{a}.{b}",
		"xy{a}", // 2 pieces, literal first
		"{a}xy", // 2 pieces, param first, longer
		"{a}x",
		"{a}y",
	}
	var parts []*partial
	for _, s := range sorted {
		p, err := Parse("/" + s)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p.segs[0].partial)
	}
	for i := range parts {
		for j := range parts {
			got := comparePartial(parts[i], parts[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("comparePartial(%s, %s) = %d, want %d", sorted[i], sorted[j], got, want)
			}
		}
	}
}

func TestParams(t *testing.T) {
	var none Params
	if got := none.Get("x"); got != "" {
		t.Errorf("nil Params Get = %q", got)
	}
	if m := none.Map(); m == nil || len(m) != 0 {
		t.Errorf("nil Params Map = %#v, want empty non-nil", m)
	}
	ps := Params{{"a", "1"}, {"b", ""}}
	if ps.Get("a") != "1" || ps.Get("b") != "" || ps.Get("c") != "" {
		t.Errorf("Get: %v", ps)
	}
	m := ps.Map()
	if len(m) != 2 || m["a"] != "1" || m["b"] != "" {
		t.Errorf("Map = %v", m)
	}
}
