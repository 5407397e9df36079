package router

import (
	"fmt"
	"strings"
)

// ConflictError is returned by [Tree.Add] when a pattern conflicts with one
// already registered: both match exactly the same set of paths, or some
// path matches both and the precedence rules rank them equally.
type ConflictError struct {
	Pattern  string // the pattern being added
	Existing string // the registered pattern it conflicts with
	Path     string // an example path both match ("" if unknown)
}

// Error describes the conflict, naming both patterns and the example path.
func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "router: pattern %q conflicts with existing pattern %q", e.Pattern, e.Existing)
	same := false
	if p1, err := Parse(e.Pattern); err == nil {
		if p2, err := Parse(e.Existing); err == nil {
			same = p1.fp == p2.fp
		}
	}
	switch {
	case same && e.Path != "":
		fmt.Fprintf(&b, ": they match exactly the same paths, such as %q", e.Path)
	case same:
		b.WriteString(": they match exactly the same paths")
	case e.Path != "":
		fmt.Fprintf(&b, ": both match %q and neither takes precedence over the other", e.Path)
	default:
		b.WriteString(": some paths match both and neither takes precedence over the other")
	}
	return b.String()
}

// conflict reports whether p may not be added to t. Two patterns conflict
// when
//
//   - they have the same fingerprint, that is, they match exactly the same
//     paths (parameter names aside, {m*N} counting as N {param} segments:
//     "/a/{x}/{y}" and "/a/{m*2}" conflict), or
//   - they end in the same slot of the tree: the same sequence of literal
//     texts, partial structures and segment kinds leads to the same
//     terminal, so a path reaching it cannot prefer either. Besides equal
//     fingerprints this covers {name?} against {name} ("/a/{x?}" and
//     "/a/{y}" both match "/a/b") and {name?} matching no segment against
//     the pattern without it ("/a/{x?}" and "/a" both match "/a").
//
// Patterns ending in different slots are always ranked by precedence and
// never conflict, even when one shadows the other on every path it
// matches.
func (t *Tree[V]) conflict(p *Pattern) *ConflictError {
	fail := func(existing *entry[V], omitOptional bool) *ConflictError {
		return &ConflictError{Pattern: p.str, Existing: existing.pattern.str, Path: examplePath(p, omitOptional)}
	}
	if e := t.byPrint[p.fp]; e != nil {
		return fail(e, false)
	}
	n := &t.root
	for i, seg := range p.segs {
		switch seg.kind {
		case kindLiteral:
			n = n.lits.get(seg.literal)
		case kindPartial:
			n = n.findPartial(seg.partial)
		case kindParam:
			n = n.param
		case kindOptional:
			if i > 0 && n.end != nil {
				return fail(n.end, true)
			}
			n = n.param
		case kindMulti:
			for j := 0; j < seg.count && n != nil; j++ {
				n = n.multi
			}
		case kindCatchAll:
			if n.catchAll != nil {
				return fail(n.catchAll, false)
			}
			return nil
		}
		if n == nil {
			return nil // nothing registered below: no shared slot
		}
	}
	if n.end != nil {
		return fail(n.end, false)
	}
	return nil
}

// examplePath returns a path matched by p, with every parameter set to
// "x". If omitOptional is set, a trailing {name?} matches no segment
// (except at the root, where a path always has one segment).
func examplePath(p *Pattern, omitOptional bool) string {
	var b strings.Builder
	for _, seg := range p.segs {
		switch seg.kind {
		case kindLiteral:
			b.WriteString("/")
			b.WriteString(seg.literal)
		case kindPartial:
			b.WriteString("/")
			b.WriteString(strings.Join(seg.partial.lits, "x"))
		case kindParam, kindCatchAll:
			b.WriteString("/x")
		case kindOptional:
			if !omitOptional {
				b.WriteString("/x")
			}
		case kindMulti:
			b.WriteString(strings.Repeat("/x", seg.count))
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}
