package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonSamples are valid and invalid JSON texts for comparing the scanner
// with encoding/json.
var jsonSamples = []string{
	`0`, `-0`, `1`, `-1`, `1.5`, `1e5`, `1E-5`, `1e+5`, `-0.0e0`, `123456789012345678901234567890`,
	`01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x10`, `1.5.5`, `--1`, `Infinity`, `NaN`,
	`""`, `"a"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\uD83D\uDE00"`, `"\ud800"`, `"\u12"`, `"\u12G4"`, `"\x"`, `"a`, "\"\t\"", "\"\x00\"", "\"\x7f\"",
	`true`, `false`, `null`, `tru`, `nul`, `True`, `nulll`,
	`[]`, `[ ]`, `[1]`, `[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[`, `]`, `[[[]]]`, `[[[]]`, `[{}]`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":1,"b":[{"c":null}]}`, `{1:2}`, `{"a"::1}`,
	` 1 `, "\t\n\r 1\r\n", `1 2`, ``, ` `, "\f1", "\u00a01",
	`{"a":[1,{"b":"c"}],"d":{"e":[true,false,null]}}`,
}

func TestScanMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSamples {
		_, got := validJSON([]byte(s))
		if want := json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%q) = %v, encoding/json says %v", s, got, want)
		}
	}
}

func TestScanDepth(t *testing.T) {
	deep := func(n int) []byte { return []byte(strings.Repeat(`{"a":[`, n) + strings.Repeat(`]}`, n)) }
	// 2n levels.
	if end, ok := scanValue(deep(64), 0, 128); !ok || end != len(deep(64)) {
		t.Error("128 levels refused at limit 128")
	}
	if _, ok := scanValue(deep(65), 0, 129); ok {
		t.Error("130 levels accepted at limit 129")
	}
	// No limit: far deeper than the inline stack, no recursion.
	big := deep(100000)
	if _, ok := validJSON(big); !ok {
		t.Error("deep value refused without limit")
	}
	big[len(big)-1] = ']'
	if _, ok := validJSON(big); ok {
		t.Error("mismatched brackets accepted")
	}
}

func TestUnquote(t *testing.T) {
	tests := []struct{ in, want string }{
		{`""`, ""},
		{`"abc"`, "abc"},
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t"},
		{`"\u00e9\u20AC"`, "é€"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83dx"`, "\uFFFDx"},
		{`"\ude00\ud83d"`, "\uFFFD\uFFFD"},
		{`"\ud83d\u0041"`, "\uFFFDA"},
		{`"x\ud83d"`, "x\uFFFD"},
	}
	for _, tt := range tests {
		if got := unquote([]byte(tt.in)); got != tt.want {
			t.Errorf("unquote(%s) = %q, want %q", tt.in, got, tt.want)
		}
		var want string
		if err := json.Unmarshal([]byte(tt.in), &want); err != nil || want != tt.want {
			t.Errorf("encoding/json disagrees on %s: %q", tt.in, want)
		}
	}
}

// TestJSNumber compares with the output of Node.js's String(JSON.parse(x)).
func TestJSNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{`1`, `1`},
		{`1e21`, `1e+21`},
		{`1.5e-7`, `1.5e-7`},
		{`123456789012345680000`, `123456789012345680000`},
		{`-1e-7`, `-1e-7`},
		{`0.000001`, `0.000001`},
		{`0.0000001`, `1e-7`},
		{`1.5`, `1.5`},
		{`100`, `100`},
		{`2.0`, `2`},
		{`1e300`, `1e+300`},
		{`5e-324`, `5e-324`},
		{`1.7976931348623157e308`, `1.7976931348623157e+308`},
		{`123456.789`, `123456.789`},
		{`0.1`, `0.1`},
		{`-0.5`, `-0.5`},
		{`1e-6`, `0.000001`},
		{`999999999999999999999`, `1e+21`},
		{`4.35`, `4.35`},
		{`1e20`, `100000000000000000000`},
		{`12e-1`, `1.2`},
		{`9007199254740993`, `9007199254740992`},
		{`1e400`, `Infinity`},
		{`-1e400`, `-Infinity`},
		{`-0`, `0`},
	}
	for _, tt := range tests {
		if got := string(appendJSString(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("String(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
