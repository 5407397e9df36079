// Package router matches concrete subscription paths such as
// "/rooms/lobby" against declared patterns such as "/rooms/{room}".
//
// The syntax and the precedence rules follow @hapi/call, the router of
// hapi (and therefore of hapi's nes), with the differences noted below.
// The package uses only the standard library and knows nothing of HTTP.
//
// # Pattern syntax
//
// A pattern starts with "/" and is split at "/" into segments. Each
// segment is one of:
//
//	news          literal: matches exactly "news" (case-sensitive)
//	{name}        parameter: one whole non-empty segment
//	{name?}       optional parameter, last segment only: one segment, which
//	              may be empty, or no segment at all
//	{name*N}      multi-segment parameter (N ≥ 1): exactly N non-empty
//	              segments; the value is those segments joined by "/"
//	{name*}       catch-all, last segment only: the rest of the path, zero
//	              or more segments of any content
//	{a}.{b} v{v}  partial segment: literal text mixed with {name}
//	              parameters, each matching at least one byte
//
// Parameter names are [A-Za-z0-9_]+ and must be unique within a pattern.
// Literal text may contain the RFC 3986 path characters: letters, digits,
// "-._~!$&'()*+,;=:@" and %XX escapes; "?", "#", "{", "}" and anything
// else are rejected. In a partial segment two parameters must be separated
// by literal text, and "?", "*" modifiers are not allowed. N in {name*N}
// is at most [MaxMultiCount]. Empty segments ("//") are rejected, except
// that the pattern "/" is the root and a trailing "/" is a final empty
// literal segment: "/news" and "/news/" are different patterns matching
// different paths, as in hapi's default (non-"stripTrailingSlash") mode.
//
// # Matching
//
// A path is split at "/" the same way: "/" is one empty segment, "/news/"
// is "news" followed by an empty segment. Matching is byte for byte on the
// raw path as given: nothing is percent-decoded, cleaned, case-folded or
// stripped (a "?" in a path is ordinary text). Parameter values are
// substrings of the path, so they are still percent-encoded.
//
// Optional parameters and catch-alls behave as in hapi:
//
//	"/items/{id?}" matches "/items"    (id absent from Params)
//	               matches "/items/"   (id = "")
//	               matches "/items/5"  (id = "5")
//	"/files/{p*}"  matches "/files"    (p absent from Params)
//	               matches "/files/"   (p = "")
//	               matches "/files/a/b" (p = "a/b")
//
// At the root, "/{id?}" and "/{p*}" match "/" with the value "" (a path
// always has at least one segment; hapi reports id as absent there).
//
// Parameters in a partial segment are greedy from left to right, like the
// regular expression ^a(.+)b(.+)c$ that hapi builds: "{name}.{ext}"
// matches "archive.tar.gz" with name "archive.tar" and ext "gz".
//
// # Precedence
//
// When several patterns match a path, the winner is decided by
// specificity, never by registration order. Patterns are compared segment
// by segment from the left; at the first segment where they differ, the
// more specific kind wins:
//
//	literal > partial > {name} and {name?} > {name*N} > {name*}
//
// Each of the N segments of {name*N} ranks as a multi segment, so
// "/{m*2}/x" beats "/{m*3}" on "/a/b/x". Between two partial segments
// the order is hapi's: more pieces (literal runs plus parameters) first,
// then one starting with literal text before one starting with a
// parameter, then the literal runs from the left, a longer run first and
// for equal lengths the byte-wise smaller run first. When the path is
// exhausted, a pattern ending there (including {name?} matching no
// segment) beats a catch-all matching no segment: "/files" wins over
// "/files/{p*}" on "/files".
//
// Matching backtracks: if the most specific choice at some segment fails
// further on, the next one is tried, so "/a/b/c" and "/a/{x}/d" match
// "/a/b/c" and "/a/b/d" respectively. Every step consumes exactly one
// segment, so each node of the tree is visited at most once per match and
// the cost depends on the path and the shape of the tree around it, not on
// the number of patterns.
//
// # Conflicts
//
// [Tree.Add] rejects, with a [*ConflictError], a pattern that
//
//   - matches exactly the same paths as a registered one, ignoring
//     parameter names: "/a/{x}" and "/a/{y}", "/a/{x}/{y}" and "/a/{m*2}"
//     (hapi's "same fingerprint" rule), or
//   - ranks equally with a registered one on some path both match:
//     "/a/{x?}" against "/a/{y}" (on "/a/b") and "/a/{x?}" against "/a"
//     (on "/a").
//
// Overlapping patterns that precedence orders are accepted: "/a/b" and
// "/a/{x}", "/a/{x}" and "/a/{p*}", "/{a}.{b}" and "/{a}-{b}". Unlike
// hapi, "/a/{p*}" and "/a/{x}/{y*}" may coexist (the second wins wherever
// both match).
//
// # Concurrency
//
// A [Tree] may be used by many goroutines calling [Tree.Match] at once,
// but [Tree.Add] must not run concurrently with any other method.
package router
