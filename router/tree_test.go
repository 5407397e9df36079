package router

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// tablePatterns is a non-conflicting set using every segment kind.
var tablePatterns = []string{
	"/",
	"/news",
	"/news/",
	"/news/{id}",
	"/a/b/c",
	"/a/{x}/d",
	"/rooms/{room}",
	"/rooms/{room}/messages",
	"/rooms/lobby",
	"/items/{id?}",
	"/files/{path*}",
	"/files/special",
	"/static/{m*2}",
	"/static/{m*2}/x",
	"/static/{m*3}",
	"/static/lit/{k}",
	"/dl/{name}.{ext}",
	"/dl/{name}",
	"/dl/v{ver}.{ext}",
	"/dl/readme.txt",
	"/img/{w}x{h}",
	"/img/{w}x{h}.{fmt}",
	"/p/{a}-{b}",
	"/p/{a}.{b}",
	"/p/a{x}",
	"/deep/{a}/{b}/{c}/{d}/end",
	"/deep/{a}/{b}/{c}/{d*}",
	"/v{version}/{rest*}",
	"/{top}/only",
	"/opt/{x}/{y?}",
	"/opt/{x}/{z*}",
}

type matchCase struct {
	path    string
	pattern string // "" for no match
	params  string // "k=v,k=v"
}

var matchCases = []matchCase{
	{"/", "/", ""},
	{"/news", "/news", ""},
	{"/news/", "/news/", ""},
	{"/news/5", "/news/{id}", "id=5"},
	{"/news/5/", "", ""},
	{"/NEWS", "", ""},
	{"/news?x=1", "", ""},
	{"/news/only", "/news/{id}", "id=only"},
	{"/x/only", "/{top}/only", "top=x"},
	// Backtracking.
	{"/a/b/c", "/a/b/c", ""},
	{"/a/b/d", "/a/{x}/d", "x=b"},
	{"/a/z/d", "/a/{x}/d", "x=z"},
	{"/a/b/e", "", ""},
	{"/rooms/lobby", "/rooms/lobby", ""},
	{"/rooms/lobby/messages", "/rooms/{room}/messages", "room=lobby"},
	{"/rooms/x", "/rooms/{room}", "room=x"},
	{"/rooms/", "", ""},
	{"/rooms", "", ""},
	{"/rooms/a%2Fb", "/rooms/{room}", "room=a%2Fb"},
	// Optional.
	{"/items", "/items/{id?}", ""},
	{"/items/", "/items/{id?}", "id="},
	{"/items/5", "/items/{id?}", "id=5"},
	{"/items/5/", "", ""},
	{"/items//", "", ""},
	// Catch-all.
	{"/files", "/files/{path*}", ""},
	{"/files/", "/files/{path*}", "path="},
	{"/files/a/b/c", "/files/{path*}", "path=a/b/c"},
	{"/files/a//b/", "/files/{path*}", "path=a//b/"},
	{"/files/special", "/files/special", ""},
	{"/files/special/", "/files/{path*}", "path=special/"},
	{"/files/special/x", "/files/{path*}", "path=special/x"},
	// Multi.
	{"/static/a/b", "/static/{m*2}", "m=a/b"},
	{"/static/a/b/x", "/static/{m*2}/x", "m=a/b"},
	{"/static/a/b/c", "/static/{m*3}", "m=a/b/c"},
	{"/static/lit/k", "/static/lit/{k}", "k=k"},
	{"/static/lit/k/x", "/static/{m*2}/x", "m=lit/k"},
	{"/static/lit/k/y", "/static/{m*3}", "m=lit/k/y"},
	{"/static/a", "", ""},
	{"/static/a//b", "", ""},
	{"/static/a/b/c/d", "", ""},
	// Partials.
	{"/dl/readme.txt", "/dl/readme.txt", ""},
	{"/dl/file.tar.gz", "/dl/{name}.{ext}", "name=file.tar,ext=gz"},
	{"/dl/v1.zip", "/dl/v{ver}.{ext}", "ver=1,ext=zip"},
	{"/dl/v1.2.zip", "/dl/v{ver}.{ext}", "ver=1.2,ext=zip"},
	{"/dl/v.zip", "/dl/{name}.{ext}", "name=v,ext=zip"},
	{"/dl/v1", "/dl/{name}", "name=v1"},
	{"/dl/.zip", "/dl/{name}", "name=.zip"},
	{"/dl/noext", "/dl/{name}", "name=noext"},
	{"/img/10x20", "/img/{w}x{h}", "w=10,h=20"},
	{"/img/10x20.png", "/img/{w}x{h}.{fmt}", "w=10,h=20,fmt=png"},
	{"/img/axbxc", "/img/{w}x{h}", "w=axb,h=c"},
	{"/img/x20", "", ""},
	{"/p/a-b", "/p/{a}-{b}", "a=a,b=b"},
	{"/p/a.b-c", "/p/{a}-{b}", "a=a.b,b=c"},
	{"/p/a.b", "/p/{a}.{b}", "a=a,b=b"},
	{"/p/ab", "/p/a{x}", "x=b"},
	{"/p/a", "", ""},
	{"/p/zz", "", ""},
	// Deep backtracking into a catch-all.
	{"/deep/1/2/3/4/end", "/deep/{a}/{b}/{c}/{d}/end", "a=1,b=2,c=3,d=4"},
	{"/deep/1/2/3/4/other", "/deep/{a}/{b}/{c}/{d*}", "a=1,b=2,c=3,d=4/other"},
	{"/deep/1/2/3/4/end/", "/deep/{a}/{b}/{c}/{d*}", "a=1,b=2,c=3,d=4/end/"},
	{"/deep/1/2/3", "/deep/{a}/{b}/{c}/{d*}", "a=1,b=2,c=3"},
	{"/deep/1/2", "", ""},
	// Partial beats param at the first segment.
	{"/v2/anything/here", "/v{version}/{rest*}", "version=2,rest=anything/here"},
	{"/v2", "/v{version}/{rest*}", "version=2"},
	{"/v1/only", "/v{version}/{rest*}", "version=1,rest=only"},
	{"/v/only", "/{top}/only", "top=v"},
	// Pattern end beats an optional beats a catch-all.
	{"/opt/a", "/opt/{x}/{y?}", "x=a"},
	{"/opt/a/", "/opt/{x}/{y?}", "x=a,y="},
	{"/opt/a/b", "/opt/{x}/{y?}", "x=a,y=b"},
	{"/opt/a/b/c", "/opt/{x}/{z*}", "x=a,z=b/c"},
	// Not paths.
	{"", "", ""},
	{"news", "", ""},
}

func (c matchCase) check(t *testing.T, tree *Tree[string]) {
	t.Helper()
	m, ok := tree.Match(c.path)
	if c.pattern == "" {
		if ok {
			t.Errorf("Match(%q) = %q %v, want no match", c.path, m.Pattern, m.Params)
		}
		return
	}
	if !ok {
		t.Errorf("Match(%q): no match, want %q", c.path, c.pattern)
		return
	}
	var got []string
	for _, p := range m.Params {
		got = append(got, p.Key+"="+p.Value)
	}
	if m.Pattern != c.pattern || m.Value != c.pattern || strings.Join(got, ",") != c.params {
		t.Errorf("Match(%q) = %q (value %q) %s, want %q %s", c.path, m.Pattern, m.Value, strings.Join(got, ","), c.pattern, c.params)
	}
}

func buildTree(t testing.TB, patterns []string) *Tree[string] {
	t.Helper()
	tree := New[string]()
	for _, p := range patterns {
		if err := tree.Add(p, p); err != nil {
			t.Fatal(err)
		}
	}
	if tree.Len() != len(patterns) {
		t.Fatalf("Len = %d, want %d", tree.Len(), len(patterns))
	}
	return tree
}

// TestMatch runs the table against the patterns registered in order,
// reversed and shuffled: precedence never depends on registration order.
func TestMatch(t *testing.T) {
	orders := [][]string{tablePatterns, slices.Clone(tablePatterns)}
	slices.Reverse(orders[1])
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		o := slices.Clone(tablePatterns)
		r.Shuffle(len(o), func(i, j int) { o[i], o[j] = o[j], o[i] })
		orders = append(orders, o)
	}
	for i, order := range orders {
		tree := buildTree(t, order)
		for _, c := range matchCases {
			c.check(t, tree)
		}
		if t.Failed() {
			t.Fatalf("order %d: %q", i, order)
		}
	}
}

func TestMatchAgreesWithOracleOnTable(t *testing.T) {
	tree := New[int]()
	for i, p := range tablePatterns {
		if err := tree.Add(p, i); err != nil {
			t.Fatal(err)
		}
	}
	ops := newOracle(tablePatterns)
	for _, c := range matchCases {
		checkPath(t, tree, ops, c.path)
	}
}

func TestRootPatterns(t *testing.T) {
	tree := buildTree(t, []string{"/", "/{id?}", "/{any*}", "/x/{y}"})
	for _, c := range []matchCase{
		{"/", "/", ""},
		{"/a", "/{id?}", "id=a"},
		{"/a/b", "/{any*}", "any=a/b"},
		{"/x/1", "/x/{y}", "y=1"},
		{"/x/", "/{any*}", "any=x/"},
		{"//", "/{any*}", "any=/"},
	} {
		c.check(t, tree)
	}
	// Without "/", the optional matches the root with an empty value and
	// the catch-all still matches the root on its own.
	buildTree(t, []string{"/{id?}"}).Match("/")
	matchCase{"/", "/{id?}", "id="}.check(t, buildTree(t, []string{"/{id?}", "/{any*}"}))
	matchCase{"/", "/{any*}", "any="}.check(t, buildTree(t, []string{"/{any*}"}))
	matchCase{"/", "", ""}.check(t, buildTree(t, []string{"/{x}"}))
}

func TestTrailingSlash(t *testing.T) {
	tree := buildTree(t, []string{"/news", "/rooms/{r}/"})
	for _, c := range []matchCase{
		{"/news", "/news", ""},
		{"/news/", "", ""},
		{"/rooms/a/", "/rooms/{r}/", "r=a"},
		{"/rooms/a", "", ""},
	} {
		c.check(t, tree)
	}
}

func TestMultiPrecedence(t *testing.T) {
	// Each segment of {m*N} ranks as a multi segment, below {param}.
	patterns := []string{"/{m*2}/x", "/{a}/{b*2}", "/{c*2}/{d*}", "/{e*4}"}
	for _, order := range [][]string{patterns, {patterns[3], patterns[2], patterns[1], patterns[0]}} {
		tree := buildTree(t, order)
		for _, c := range []matchCase{
			{"/a/b/x", "/{a}/{b*2}", "a=a,b=b/x"},
			{"/a/b/c", "/{a}/{b*2}", "a=a,b=b/c"},
			{"/a/b", "/{c*2}/{d*}", "c=a/b"},
			{"/a/b/c/d", "/{e*4}", "e=a/b/c/d"},
			{"/a/b/c/d/e", "/{c*2}/{d*}", "c=a/b,d=c/d/e"},
		} {
			c.check(t, tree)
		}
	}
	tree := buildTree(t, []string{"/{m*2}/x", "/{m*3}", "/{c*2}/{d*}"})
	matchCase{"/a/b/x", "/{m*2}/x", "m=a/b"}.check(t, tree)
	matchCase{"/a/b/y", "/{m*3}", "m=a/b/y"}.check(t, tree)
}

func TestConflicts(t *testing.T) {
	tests := []struct{ existing, pattern, path string }{
		{"/a/{x}", "/a/{y}", "/a/x"},
		{"/news", "/news", "/news"},
		{"/", "/", "/"},
		{"/a/{x?}", "/a", "/a"},
		{"/a", "/a/{x?}", "/a"},
		{"/a/{x?}", "/a/{y}", "/a/x"},
		{"/a/{y}", "/a/{x?}", "/a/x"},
		{"/a/{x?}", "/a/{y?}", "/a/x"},
		{"/{x?}", "/{y}", "/x"},
		{"/a/{x}/{y}", "/a/{m*2}", "/a/x/x"},
		{"/a/{m*2}", "/a/{x}/{y}", "/a/x/x"},
		{"/a/{m*2}", "/a/{m*1}/{n*1}", "/a/x/x"},
		{"/a/{x}/{m*2}", "/a/{m*2}/{x}", "/a/x/x/x"},
		{"/a/{x}/b", "/a/{m*1}/b", "/a/x/b"},
		{"/a/{p*}", "/a/{q*}", "/a/x"},
		{"/a/{x}/{p*}", "/a/{y}/{q*}", "/a/x/x"},
		{"/f/{a}.{b}", "/f/{x}.{y}", "/f/x.x"},
		{"/f/{a}.{b}/c", "/f/{x}.{y}/c", "/f/x.x/c"},
		{"/v{a}/{b?}", "/v{c}", "/vx"},
	}
	for _, tt := range tests {
		tree := New[string]()
		if err := tree.Add(tt.existing, tt.existing); err != nil {
			t.Fatal(err)
		}
		err := tree.Add(tt.pattern, tt.pattern)
		var ce *ConflictError
		if !errors.As(err, &ce) {
			t.Errorf("Add(%q) after %q: err = %v, want *ConflictError", tt.pattern, tt.existing, err)
			continue
		}
		if ce.Pattern != tt.pattern || ce.Existing != tt.existing || ce.Path != tt.path {
			t.Errorf("Add(%q) after %q: %+v, want path %q", tt.pattern, tt.existing, *ce, tt.path)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "router: ") || !strings.Contains(msg, fmt.Sprintf("%q", tt.pattern)) ||
			!strings.Contains(msg, fmt.Sprintf("%q", tt.existing)) || !strings.Contains(msg, fmt.Sprintf("%q", tt.path)) {
			t.Errorf("error %q does not name both patterns and the path", msg)
		}
		// The example path matches both patterns.
		for _, op := range newOracle([]string{tt.existing, tt.pattern}) {
			if _, ok := op.match(ce.Path); !ok {
				t.Errorf("conflict path %q does not match %q", ce.Path, op.p.str)
			}
		}
		// The tree is unchanged.
		if tree.Len() != 1 {
			t.Errorf("Len = %d after a failed Add", tree.Len())
		}
		if m, ok := tree.Match(ce.Path); !ok || m.Pattern != tt.existing {
			t.Errorf("Match(%q) = %q, %v after a failed Add; want %q", ce.Path, m.Pattern, ok, tt.existing)
		}
	}
}

func TestConflictErrorMessages(t *testing.T) {
	tree := New[int]()
	_ = tree.Add("/a/{x}", 0)
	err := tree.Add("/a/{y}", 0)
	want := `router: pattern "/a/{y}" conflicts with existing pattern "/a/{x}": they match exactly the same paths, such as "/a/x"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	err = tree.Add("/a/{z?}", 0)
	want = `router: pattern "/a/{z?}" conflicts with existing pattern "/a/{x}": both match "/a/x" and neither takes precedence over the other`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	e := &ConflictError{Pattern: "bad{", Existing: "/x"}
	if got := e.Error(); !strings.Contains(got, "neither takes precedence") {
		t.Errorf("got %q", got)
	}
}

func TestNoConflicts(t *testing.T) {
	pairs := [][2]string{
		{"/a/b", "/a/{x}"},
		{"/a/{x}", "/a/{p*}"},
		{"/a/{x?}", "/a/{p*}"},
		{"/a", "/a/{p*}"},
		{"/a", "/a/"},
		{"/a/{x?}", "/a/"},
		{"/{a}.{b}", "/{a}-{b}"},
		{"/{a}.{b}", "/x{a}.{b}"},
		{"/a/{p*}", "/a/{x}/{y*}"},
		{"/a/{m*2}", "/a/{m*3}"},
		{"/a/{x}/{y}/b", "/a/{m*2}/{z}"},
		{"/a/{x}", "/a/{m*2}"},
		{"/", "/{x?}"},
		{"/", "/{p*}"},
		{"/a/{x}", "/a/{x}/"},
		{"/a/{x}", "/a/x{x}"},
		{"/a/{x?}", "/a/{x}/b"},
		{"/a/{x?}", "/a/{x}/{y}"},
		{"/A", "/a"},
	}
	for _, pair := range pairs {
		for _, order := range [][2]string{pair, {pair[1], pair[0]}} {
			tree := New[int]()
			for _, p := range order {
				if err := tree.Add(p, 0); err != nil {
					t.Errorf("Add(%q) after %q: %v", p, order[0], err)
				}
			}
		}
	}
}

func TestAddParseError(t *testing.T) {
	tree := New[int]()
	err := tree.Add("/a//b", 1)
	var pe *ParseError
	if !errors.As(err, &pe) || tree.Len() != 0 {
		t.Fatalf("Add: %v, Len %d", err, tree.Len())
	}
}

// TestRandomTrees registers random patterns (skipping those Add rejects)
// and checks random paths against the oracle. A path on which two
// accepted patterns rank equally means Add missed a conflict; a conflict
// error must name a path both patterns match.
func TestRandomTrees(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	n := 300
	if testing.Short() {
		n = 30
	}
	for range n {
		var accepted []string
		tree := New[int]()
		for range 1 + r.IntN(25) {
			p := randomPattern(r)
			err := tree.Add(p, len(accepted))
			var ce *ConflictError
			switch {
			case err == nil:
				accepted = append(accepted, p)
			case errors.As(err, &ce):
				for _, op := range newOracle([]string{ce.Existing, ce.Pattern}) {
					if _, ok := op.match(ce.Path); !ok {
						t.Fatalf("%v: example path does not match %q", err, op.p.str)
					}
				}
			default:
				t.Fatalf("randomPattern produced %q: %v", p, err)
			}
		}
		ops := newOracle(accepted)
		for range 200 {
			checkPath(t, tree, ops, randomPath(r))
		}
	}
}

var randomSegments = []string{
	"a", "b", "{x}", "{x}", "{x*2}", "{x*1}", "{x*3}", "a{x}", "b{x}", "{x}a", "{x}.{x}", "{x}-{x}", "a{x}.{x}", "{x}a{x}",
}

func randomPattern(r *rand.Rand) string {
	var b strings.Builder
	n := r.IntN(4)
	id := 0
	name := func(s string) string {
		for strings.Contains(s, "{x") {
			id++
			s = strings.Replace(s, "{x", fmt.Sprintf("{p%d", id), 1)
		}
		return s
	}
	for range n {
		b.WriteString("/" + name(randomSegments[r.IntN(len(randomSegments))]))
	}
	switch r.IntN(6) {
	case 0:
		b.WriteString(name("/{x?}"))
	case 1:
		b.WriteString(name("/{x*}"))
	case 2:
		b.WriteString("/")
	default:
		if n == 0 {
			b.WriteString("/a")
		}
	}
	return b.String()
}

var pathSegments = []string{"", "a", "b", "aa", "ab", "ba", "a.b", "a-b", "a.b-c", "a.a", "x", "aaa", "-", "."}

func randomPath(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(6) {
		b.WriteString("/" + pathSegments[r.IntN(len(pathSegments))])
	}
	return b.String()
}

func TestMatchAllocs(t *testing.T) {
	tree := buildTree(t, tablePatterns)
	for _, c := range []struct {
		path   string
		allocs float64
	}{
		{"/news", 0},
		{"/rooms/lobby", 0},
		{"/a/b/c", 0},
		{"/nothing/here/at/all", 0},
		{"/items", 0},
		{"/rooms/lobby/messages", 1},
		{"/deep/1/2/3/4/other", 1},
		{"/img/10x20.png", 1},
		{"/files/a/b/c", 1},
	} {
		got := testing.AllocsPerRun(100, func() { tree.Match(c.path) })
		if got != c.allocs {
			t.Errorf("Match(%q): %v allocs, want %v", c.path, got, c.allocs)
		}
	}
}

func TestConcurrentMatch(t *testing.T) {
	tree := buildTree(t, tablePatterns)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				c := matchCases[(g+i)%len(matchCases)]
				c.check(t, tree)
			}
		})
	}
	wg.Wait()
}

func TestZeroTree(t *testing.T) {
	var tree Tree[int]
	if _, ok := tree.Match("/a"); ok {
		t.Fatal("empty tree matched")
	}
	if err := tree.Add("/a", 1); err != nil {
		t.Fatal(err)
	}
	if m, ok := tree.Match("/a"); !ok || m.Value != 1 {
		t.Fatal("zero tree did not work after Add")
	}
}
