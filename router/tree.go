package router

import "strings"

// Tree maps subscription patterns to values of type V and matches concrete
// paths against them. Create one with [New]; the zero value is not meant
// to be used.
//
// Match may be called from any number of goroutines at once. Add must not
// run concurrently with Add or Match: register all patterns first, or guard
// the tree with a lock.
type Tree[V any] struct {
	root    node[V]
	count   int
	byPrint map[string]*entry[V] // fingerprint → entry, for identical match sets
}

// Match is the result of a successful [Tree.Match].
type Match[V any] struct {
	Pattern string // the pattern as registered with Add
	Value   V      // the value registered with the pattern
	Params  Params // captured parameters; nil when none were captured
}

// entry is one registered pattern.
type entry[V any] struct {
	pattern *Pattern
	value   V
	nparams int
}

// node is a position between two path segments. Every child consumes
// exactly one segment ({name*N} is N chained multi children), so the depth
// of a node equals the number of path segments consumed to reach it and a
// lookup visits every node at most once.
type node[V any] struct {
	lits     literals[V]       // literal segment → child
	partials []partialChild[V] // sorted by comparePartial, most specific first
	param    *node[V]          // {name} and {name?}
	multi    *node[V]          // one segment of a {name*N}
	end      *entry[V]         // pattern ending here (incl. {name?} matching nothing)
	catchAll *entry[V]         // {name*} as the next segment
	optional bool              // end is a {name?} that consumed the last segment
}

type partialChild[V any] struct {
	p    *partial
	next *node[V]
}

// literals is a small-set-optimised map from segment text to child: a
// linear scan for a few keys, a Go map beyond that.
type literals[V any] struct {
	keys  []string
	nodes []*node[V]
	m     map[string]*node[V]
}

const maxLinearLiterals = 8

func (l *literals[V]) get(key string) *node[V] {
	if l.m != nil {
		return l.m[key]
	}
	for i, k := range l.keys {
		if k == key {
			return l.nodes[i]
		}
	}
	return nil
}

func (l *literals[V]) getOrAdd(key string) *node[V] {
	if n := l.get(key); n != nil {
		return n
	}
	n := &node[V]{}
	if l.m == nil && len(l.keys) < maxLinearLiterals {
		l.keys = append(l.keys, key)
		l.nodes = append(l.nodes, n)
		return n
	}
	if l.m == nil {
		l.m = make(map[string]*node[V], 2*maxLinearLiterals)
		for i, k := range l.keys {
			l.m[k] = l.nodes[i]
		}
		l.keys, l.nodes = nil, nil
	}
	l.m[key] = n
	return n
}

// New returns an empty tree.
func New[V any]() *Tree[V] {
	return &Tree[V]{byPrint: make(map[string]*entry[V])}
}

// Len returns the number of patterns added to the tree.
func (t *Tree[V]) Len() int { return t.count }

// Add registers pattern with value. It returns a *[ParseError] if the
// pattern is malformed and a *[ConflictError] if it conflicts with a
// pattern already in the tree (see the package documentation for the
// rule). On error the tree is unchanged.
func (t *Tree[V]) Add(pattern string, value V) error {
	p, err := Parse(pattern)
	if err != nil {
		return err
	}
	if err := t.conflict(p); err != nil {
		return err
	}
	e := &entry[V]{pattern: p, value: value, nparams: len(p.names)}
	t.insert(p, e)
	if t.byPrint == nil {
		t.byPrint = make(map[string]*entry[V])
	}
	t.byPrint[p.fp] = e
	t.count++
	return nil
}

// insert places e in the tree. The caller has checked for conflicts.
func (t *Tree[V]) insert(p *Pattern, e *entry[V]) {
	n := &t.root
	for i, seg := range p.segs {
		switch seg.kind {
		case kindLiteral:
			n = n.lits.getOrAdd(seg.literal)
		case kindPartial:
			n = n.partialChild(seg.partial)
		case kindParam:
			n = n.paramChild()
		case kindOptional:
			if i > 0 { // the root is never reached with no segment left
				n.end = e
			}
			n = n.paramChild()
		case kindMulti:
			for range seg.count {
				if n.multi == nil {
					n.multi = &node[V]{}
				}
				n = n.multi
			}
		case kindCatchAll:
			n.catchAll = e
			return
		}
	}
	n.end = e
	n.optional = p.segs[len(p.segs)-1].kind == kindOptional
}

func (n *node[V]) paramChild() *node[V] {
	if n.param == nil {
		n.param = &node[V]{}
	}
	return n.param
}

// partialChild returns the child for partial segments structured like pt,
// creating it in precedence order if needed.
func (n *node[V]) partialChild(pt *partial) *node[V] {
	i := 0
	for ; i < len(n.partials); i++ {
		c := comparePartial(pt, n.partials[i].p)
		if c == 0 {
			return n.partials[i].next
		}
		if c < 0 {
			break
		}
	}
	child := &node[V]{}
	n.partials = append(n.partials, partialChild[V]{})
	copy(n.partials[i+1:], n.partials[i:])
	n.partials[i] = partialChild[V]{p: pt, next: child}
	return child
}

// findPartial returns the existing child for partials structured like pt.
func (n *node[V]) findPartial(pt *partial) *node[V] {
	for i := range n.partials {
		if n.partials[i].p.key == pt.key {
			return n.partials[i].next
		}
	}
	return nil
}

// Match finds the pattern that matches path with the highest precedence.
// path is matched byte for byte as given: it must start with "/", it is
// not percent-decoded, cleaned or stripped of a query string, and
// parameter values are substrings of it. Match does not allocate unless
// the matched pattern has parameters, in which case it allocates only the
// Params slice.
func (t *Tree[V]) Match(path string) (Match[V], bool) {
	if path == "" || path[0] != '/' {
		return Match[V]{}, false
	}
	e := t.root.lookup(path, 1)
	if e == nil {
		return Match[V]{}, false
	}
	return Match[V]{Pattern: e.pattern.str, Value: e.value, Params: e.params(path)}, true
}

// lookup matches the path from byte offset s, the start of the next
// segment; s > len(path) means every segment has been consumed. Children
// are tried in precedence order, backtracking when a branch fails deeper.
func (n *node[V]) lookup(path string, s int) *entry[V] {
	if s > len(path) {
		if n.end != nil {
			return n.end
		}
		return n.catchAll // {name*} matching no segment, or nil
	}
	end := segEnd(path, s)
	seg, next := path[s:end], end+1
	if c := n.lits.get(seg); c != nil {
		if e := c.lookup(path, next); e != nil {
			return e
		}
	}
	if seg != "" {
		for i := range n.partials {
			if pc := &n.partials[i]; pc.p.match(seg) {
				if e := pc.next.lookup(path, next); e != nil {
					return e
				}
			}
		}
		if n.param != nil {
			if e := n.param.lookup(path, next); e != nil {
				return e
			}
		}
		if n.multi != nil {
			if e := n.multi.lookup(path, next); e != nil {
				return e
			}
		}
	} else if n.param != nil && next > len(path) && n.param.optional {
		// {name?} matches an empty last segment ("/items/"), as in hapi.
		return n.param.end
	}
	return n.catchAll
}

// segEnd returns the offset of the "/" ending the segment starting at s,
// or len(path).
func segEnd(path string, s int) int {
	if i := strings.IndexByte(path[s:], '/'); i >= 0 {
		return s + i
	}
	return len(path)
}

// params extracts the parameter values of a path known to match e. The
// walk is deterministic, so it reproduces the choices lookup made. It
// allocates the Params slice only if at least one value is captured.
func (e *entry[V]) params(path string) Params {
	if e.nparams == 0 {
		return nil
	}
	var ps Params
	i, s := 0, 1
	for _, seg := range e.pattern.segs {
		if s > len(path) {
			break // only {name?} or {name*} can be left; they are absent
		}
		end := segEnd(path, s)
		if seg.kind != kindLiteral && ps == nil {
			ps = make(Params, e.nparams)
		}
		switch seg.kind {
		case kindParam, kindOptional:
			ps[i] = Param{Key: seg.name, Value: path[s:end]}
			i++
		case kindPartial:
			k, _ := seg.partial.scan(path[s:end], ps[i:i+len(seg.partial.names)])
			i += k
		case kindMulti:
			for range seg.count - 1 {
				end = segEnd(path, end+1)
			}
			ps[i] = Param{Key: seg.name, Value: path[s:end]}
			i++
		case kindCatchAll:
			ps[i] = Param{Key: seg.name, Value: path[s:]}
			return ps[:i+1]
		}
		s = end + 1
	}
	return ps[:i]
}
