package router_test

import (
	"fmt"

	"github.com/nes-go/nes/router"
)

func ExampleTree_Match() {
	t := router.New[string]()
	for _, p := range []string{
		"/rooms/{room}",
		"/rooms/lobby",
		"/files/{name}.{ext}",
		"/items/{id?}",
		"/static/{path*}",
	} {
		if err := t.Add(p, "handler for "+p); err != nil {
			panic(err)
		}
	}
	for _, path := range []string{"/rooms/lobby", "/rooms/kitchen", "/files/a.tar.gz", "/items", "/static/css/site.css", "/nowhere"} {
		m, ok := t.Match(path)
		if !ok {
			fmt.Printf("%s: no match\n", path)
			continue
		}
		fmt.Printf("%s: %s %v\n", path, m.Pattern, m.Params.Map())
	}
	// Output:
	// /rooms/lobby: /rooms/lobby map[]
	// /rooms/kitchen: /rooms/{room} map[room:kitchen]
	// /files/a.tar.gz: /files/{name}.{ext} map[ext:gz name:a.tar]
	// /items: /items/{id?} map[]
	// /static/css/site.css: /static/{path*} map[path:css/site.css]
	// /nowhere: no match
}

func ExampleTree_Add_conflict() {
	t := router.New[int]()
	fmt.Println(t.Add("/a/{x}", 1))
	fmt.Println(t.Add("/a/b", 2)) // more specific: fine
	fmt.Println(t.Add("/a/{y}", 3))
	fmt.Println(t.Add("/a/{z?}", 4))
	// Output:
	// <nil>
	// <nil>
	// router: pattern "/a/{y}" conflicts with existing pattern "/a/{x}": they match exactly the same paths, such as "/a/x"
	// router: pattern "/a/{z?}" conflicts with existing pattern "/a/{x}": both match "/a/x" and neither takes precedence over the other
}

func ExampleParse() {
	p, err := router.Parse("/users/{id}/files/{path*}")
	if err != nil {
		panic(err)
	}
	fmt.Println(p, p.HasParams(), p.ParamNames())
	_, err = router.Parse("/users//{id}")
	fmt.Println(err)
	// Output:
	// /users/{id}/files/{path*} true [id path]
	// router: invalid pattern "/users//{id}": empty segment at offset 7
}
