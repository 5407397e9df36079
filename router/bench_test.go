package router

import (
	"fmt"
	"testing"
)

// benchTemplates is a realistic mix of subscription patterns; each
// service gets one copy of every template. With the two root-level
// patterns of benchTree, 10 patterns are exactly one service.
var benchTemplates = []string{
	"/%s/about",
	"/%s/rooms/{room}",
	"/%s/users/{id}/posts/{post}",
	"/%s/files/{name}.{ext}",
	"/%s/static/{path*}",
	"/%s/v{version}/status",
	"/%s/items/{id?}",
	"/%s/teams/{team}/members/{member}/settings",
}

// benchTree builds a tree of n patterns: n/len(benchTemplates) services
// plus root-level patterns that every lookup may backtrack into.
func benchTree(b *testing.B, n int) (*Tree[int], int) {
	tree := New[int]()
	global := []string{"/{tenant}/health", "/{tenant}/teams/{team}/{rest*}"}
	for i, p := range global {
		if err := tree.Add(p, -1-i); err != nil {
			b.Fatal(err)
		}
	}
	svcs := 0
	for tree.Len() < n {
		for _, tmpl := range benchTemplates {
			if tree.Len() == n {
				break
			}
			if err := tree.Add(fmt.Sprintf(tmpl, fmt.Sprintf("svc%d", svcs)), tree.Len()); err != nil {
				b.Fatal(err)
			}
		}
		svcs++
	}
	return tree, svcs
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("patterns=%d", n), func(b *testing.B) {
			tree, svcs := benchTree(b, n)
			svc := fmt.Sprintf("svc%d", svcs/2)
			cases := []struct {
				name, path string
				ok         bool
			}{
				{"literal", "/" + svc + "/about", true},
				{"param-deep", "/" + svc + "/teams/t1/members/m2/settings", true},
				{"partial", "/" + svc + "/files/report.tar.gz", true},
				{"catch-all", "/" + svc + "/static/css/site/main.css", true},
				{"backtrack", "/" + svc + "/teams/t1/members/m2/unknown/x", true}, // falls back to /{tenant}/teams/{team}/{rest*}
				{"miss", "/" + svc + "/users/u1/posts", false},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					if _, ok := tree.Match(c.path); ok != c.ok {
						b.Fatalf("Match(%q) ok = %v", c.path, ok)
					}
					b.ReportAllocs()
					for b.Loop() {
						tree.Match(c.path)
					}
				})
			}
		})
	}
}

func BenchmarkAdd(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		benchTree(b, 1000)
	}
}
