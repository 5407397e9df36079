package router

import (
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that an accepted pattern
// round-trips through String, and that a path built from it matches it.
func FuzzParse(f *testing.F) {
	for _, p := range tablePatterns {
		f.Add(p)
	}
	for _, p := range []string{"", "/", "//", "/{a*255}", "/{a}.{b}.{c}", "/x{a}{b}", "/{a?}/b", "/%zz", "/{a*0}", "/a{b}c/{d*}"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("Parse(%q): error of type %T", s, err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, p.String())
		}
		q, err := Parse(p.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", s, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("re-parse of %q differs", s)
		}
		tree := New[int]()
		if err := tree.Add(s, 0); err != nil {
			t.Fatalf("Add(%q) to an empty tree: %v", s, err)
		}
		for _, omit := range []bool{false, true} {
			path := examplePath(p, omit)
			if len(s) > 256 {
				// The regexp oracle is quadratic in pattern × path length,
				// too slow here for the fuzzer's hang detection; check the
				// round trip only.
				m, ok := tree.Match(path)
				if !ok || substitute(p, m.Params) != path {
					t.Fatalf("example path %q: Match = %v, %v", path, m, ok)
				}
				continue
			}
			ops := []oraclePattern{{p, oracleRegexp(p)}}
			if _, ok := ops[0].match(path); !ok {
				t.Fatalf("example path %q does not match %q", path, s)
			}
			checkPath(t, tree, ops, path)
		}
	})
}

// FuzzMatch matches arbitrary paths against a fixed set of patterns and
// compares the result with the reference implementation in oracle_test.go:
// same winner, same parameters, and the parameters substituted back into
// the pattern reproduce the path.
func FuzzMatch(f *testing.F) {
	for _, c := range matchCases {
		f.Add(c.path)
	}
	tree := New[int]()
	for i, p := range tablePatterns {
		if err := tree.Add(p, i); err != nil {
			f.Fatal(err)
		}
	}
	ops := newOracle(tablePatterns)
	f.Fuzz(func(t *testing.T, path string) {
		checkPath(t, tree, ops, path)
	})
}
