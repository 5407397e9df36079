package nes

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/go-chi/chi/v5"
)

func requestRoutes(r chi.Router) {
	r.Get("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"greeting":"hi"}`+"\n")
	})
	r.Post("/echo/{id}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out := map[string]any{
			"id":      chi.URLParam(r, "id"),
			"payload": json.RawMessage(orNull(body)),
			"query":   r.URL.Query().Get("q"),
			"hdr":     r.Header.Get("X-Custom"),
			"socket":  SocketFrom(r.Context()) != nil,
			"ct":      r.Header.Get("Content-Type"),
			"cookie":  r.Header.Get("Cookie"),
			"remote":  r.RemoteAddr != "",
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	r.Post("/raw", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s|%s", r.Header.Get("Content-Type"), body)
	})
	r.Get("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "plain text")
	})
	r.Get("/badjson", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"broken":`)
	})
	r.Get("/badutf8", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{\"s\":\"a\xffb\"}")
	})
	r.Get("/null", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r.Get("/empty", func(w http.ResponseWriter, r *http.Request) {})
	r.Get("/forbidden", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"statusCode":403,"error":"Forbidden","message":"Nope"}`)
	})
	r.Get("/panic", func(w http.ResponseWriter, r *http.Request) { panic("handler bug") })
	r.Get("/multi", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	})
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	if !json.Valid(b) {
		q, _ := json.Marshal(string(b))
		return q
	}
	return b
}

func TestRequests(t *testing.T) {
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) { requestRoutes(r) })
	c := dial(t, ts.url, http.Header{"Cookie": []string{"session=upgrade-only"}})
	c.hello()
	cases := []struct{ send, want string }{
		{`{"type":"request","method":"GET","path":"/hello","id":2}`,
			`{"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"}}`},
		{`{"type":"request","method":"post","path":"/echo/5?q=1","headers":{"x-custom":"yes"},"payload":{"a":1},"id":3}`,
			`{"type":"request","id":3,"statusCode":200,"payload":{"cookie":"","ct":"application/json","hdr":"yes","id":"5","payload":{"a":1},"query":"1","remote":true,"socket":true}}`},
		{`{"type":"request","method":"POST","path":"/raw","payload":"a string payload","id":4}`,
			`{"type":"request","id":4,"statusCode":200,"payload":"|a string payload"}`},
		{`{"type":"request","method":"POST","path":"/raw","headers":{"content-type":"text/plain"},"payload":"txt","id":5}`,
			`{"type":"request","id":5,"statusCode":200,"payload":"text/plain|txt"}`},
		{`{"type":"request","method":"POST","path":"/raw","payload":[1,"two"],"id":6}`,
			`{"type":"request","id":6,"statusCode":200,"payload":"application/json|[1,\"two\"]"}`},
		{`{"type":"request","method":"POST","path":"/raw","payload":null,"id":7}`,
			`{"type":"request","id":7,"statusCode":200,"payload":"|"}`},
		{`{"type":"request","method":"GET","path":"/text","id":8}`,
			`{"type":"request","id":8,"statusCode":200,"payload":"plain text"}`},
		{`{"type":"request","method":"GET","path":"/badjson","id":9}`,
			`{"type":"request","id":9,"statusCode":200,"payload":"{\"broken\":"}`},
		{`{"type":"request","method":"GET","path":"/null","id":10}`,
			`{"type":"request","id":10,"statusCode":204,"payload":null}`},
		{`{"type":"request","method":"GET","path":"/empty","id":11}`,
			`{"type":"request","id":11,"statusCode":200,"payload":""}`},
		{`{"type":"request","method":"GET","path":"/forbidden","id":12}`,
			`{"type":"request","id":12,"statusCode":403,"payload":{"statusCode":403,"error":"Forbidden","message":"Nope"}}`},
		{`{"type":"request","method":"GET","path":"/missing","id":13}`,
			`{"type":"request","id":13,"statusCode":404,"payload":"404 page not found\n"}`},
		{`{"type":"request","method":"GET","path":"/panic","id":14}`,
			`{"statusCode":500,"payload":{"error":"Internal Server Error","message":"An internal server error occurred"},"type":"request","id":14}`},
		{`{"type":"request","method":"GET","path":"/hello","headers":{"Authorization":"Bearer x"},"id":15}`,
			`{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot include an Authorization header"},"type":"request","id":15}`},
		{`{"type":"request","method":"GET","path":"hello-route","id":16}`,
			`{"statusCode":404,"payload":{"error":"Not Found","message":"Not Found"},"type":"request","id":16}`},
		{`{"type":"request","method":"GET","path":"/hello","headers":{"x-bad":"a\r\nb"},"id":17}`,
			`{"statusCode":400,"payload":{"error":"Bad Request","message":"Invalid request header"},"type":"request","id":17}`},
		{`{"type":"request","method":"G E T","path":"/hello","id":18}`,
			`{"statusCode":400,"payload":{"error":"Bad Request","message":"Invalid request method"},"type":"request","id":18}`},
		{`{"type":"request","method":"GET","path":"/hello","id":15.5}`,
			`{"type":"request","id":15.5,"statusCode":200,"payload":{"greeting":"hi"}}`},
		// JSON with invalid UTF-8 cannot go into a text frame as it is: it is
		// sent as a string, the bad byte replaced.
		{`{"type":"request","method":"GET","path":"/badutf8","id":19}`,
			`{"type":"request","id":19,"statusCode":200,"payload":"{\"s\":\"a\ufffdb\"}"}`},
		// A socket decodes its requests into one protocol.Request: nothing
		// of id 3's headers, query or payload is left.
		{`{"type":"request","method":"POST","path":"/echo/6","id":20}`,
			`{"type":"request","id":20,"statusCode":200,"payload":{"cookie":"","ct":"","hdr":"","id":"6","payload":null,"query":"","remote":true,"socket":true}}`},
	}
	for _, tc := range cases {
		c.roundTrip(tc.send, tc.want)
	}
}

func TestRequestHeadersFilter(t *testing.T) {
	for _, tc := range []struct {
		headers []string
		want    string
	}{
		{nil, `{"type":"request","id":2,"statusCode":200,"payload":"ok"}`},
		{[]string{"content-type"}, `{"type":"request","id":2,"statusCode":200,"payload":"ok","headers":{"content-type":"text/plain"}}`},
		{[]string{"*"}, `{"type":"request","id":2,"statusCode":200,"payload":"ok","headers":{"content-length":2,"content-type":"text/plain","x-multi":["a","b"]}}`},
	} {
		t.Run(strings.Join(tc.headers, ","), func(t *testing.T) {
			opts := quietOptions()
			opts.Headers = tc.headers
			ts := newTestServer(t, opts, func(s *Server, r chi.Router) { requestRoutes(r) })
			c := dial(t, ts.url, nil)
			c.hello()
			c.roundTrip(`{"type":"request","method":"GET","path":"/multi","id":2}`, tc.want)
		})
	}
}

func TestRequestWithoutHandler(t *testing.T) {
	srv, err := New(quietOptions())
	must(t, err)
	srv.SetHandler(nil)
	if h := srv.requestHandler(); h == nil {
		t.Fatal("nil handler")
	}
}

func TestRequestContextEndsWhenClientLeaves(t *testing.T) {
	started := make(chan struct{})
	ended := make(chan error, 1)
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		r.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
			close(started)
			select {
			case <-r.Context().Done():
				ended <- r.Context().Err()
			case <-time.After(10 * time.Second):
				ended <- nil
			}
		})
	})
	c := dial(t, ts.url, nil)
	c.hello()
	c.send(`{"type":"request","method":"GET","path":"/slow","id":2}`)
	<-started
	start := time.Now()
	c.conn.Close(websocket.StatusNormalClosure, "bye") // answered while the route runs
	if err := <-ended; err == nil {
		t.Fatal("the route's context did not end when the client left")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("close took %v", d)
	}
}

func TestPipelinedRequestsInOrder(t *testing.T) {
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		r.Get("/n/{n}", func(w http.ResponseWriter, r *http.Request) {
			if chi.URLParam(r, "n") == "0" {
				time.Sleep(50 * time.Millisecond)
			}
			w.Write([]byte(chi.URLParam(r, "n")))
		})
	})
	c := dial(t, ts.url, nil)
	c.hello()
	for i := 0; i < 100; i++ {
		c.send(fmt.Sprintf(`{"type":"request","method":"GET","path":"/n/%d","id":%d}`, i, i+10))
	}
	for i := 0; i < 100; i++ {
		c.expect(fmt.Sprintf(`{"type":"request","id":%d,"statusCode":200,"payload":"%d"}`, i+10, i))
	}
}

func TestIsJSONType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                true,
		"Application/JSON; charset=utf-8": true,
		" application/json ;charset=x":    true,
		"application/problem+json":        true,
		"application/VND.API+JSON":        true,
		"application/json; charset":       true,
		"application/json-seq":            false,
		"application/jsonx":               false,
		"text/json":                       false,
		"text/plain":                      false,
		"application/":                    false,
		"":                                false,
	} {
		if got := isJSONType(ct); got != want {
			t.Errorf("isJSONType(%q) = %v, want %v", ct, got, want)
		}
	}
}

// A message handled by the reader itself that takes long hands the reading
// to a new reader (stealAfter): the connection keeps being read, so the
// client's websocket pings are answered while the route runs, and the
// messages that follow still get their replies in order.
func TestLongRouteDoesNotStopReading(t *testing.T) {
	handlingModes(t, testLongRouteDoesNotStopReading)
}

// newBlockingServer serves GET /block, which waits for unblock, and GET
// /fast.
func newBlockingServer(t *testing.T, opts Options) (ts *testServer, unblock func()) {
	release := make(chan struct{})
	ts = newTestServer(t, opts, func(s *Server, r chi.Router) {
		r.Get("/block", func(w http.ResponseWriter, r *http.Request) {
			<-release
			w.Write([]byte("done"))
		})
		r.Get("/fast", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("fast")) })
	})
	unblock = sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock) // before the server's cleanup: a failure must not hang Shutdown
	return ts, unblock
}

func testLongRouteDoesNotStopReading(t *testing.T, opts Options) {
	ts, unblock := newBlockingServer(t, opts)
	c := dial(t, ts.url, nil)
	c.hello()
	c.send(`{"type":"request","method":"GET","path":"/block","id":2}`)
	c.send(`{"type":"request","method":"GET","path":"/fast","id":3}`)
	replies := make(chan string, 2)
	go func() { // the client reads (pongs are read by Read)
		for i := 0; i < 2; i++ {
			f, err := c.next(10 * time.Second)
			if err != nil {
				close(replies)
				return
			}
			replies <- f
		}
	}()
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.conn.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ping %d while the route runs: %v", i, err)
		}
	}
	unblock()
	for _, want := range []string{
		`{"type":"request","id":2,"statusCode":200,"payload":"done"}`,
		`{"type":"request","id":3,"statusCode":200,"payload":"fast"}`,
	} {
		if got := <-replies; got != want {
			t.Fatalf("reply %s, want %s", got, want)
		}
	}
}

// TestStealRace hands many inline frames to a new reader, or gives up many
// shared handlers as slow (the shortest steal delay, and a route that
// sleeps past it every tenth request) while
// clients pipeline requests: every reply must come, in order, and the
// handoff must keep the handler count balanced (it once went negative and
// panicked when the old reader finished before steal counted it).
func TestStealRace(t *testing.T) {
	handlingModes(t, testStealRace)
}

func testStealRace(t *testing.T, opts Options) {
	var steals atomic.Int64
	ts := newTestServer(t, opts, func(s *Server, r chi.Router) {
		s.stealAfter = time.Microsecond
		// Widen steal's window between taking the frame and counting the
		// old reader as a handler.
		s.testHookSteal = func() {
			steals.Add(1)
			time.Sleep(20 * time.Microsecond)
		}
		r.Get("/echo/{n}", func(w http.ResponseWriter, r *http.Request) {
			if chi.URLParam(r, "n") == "7" {
				time.Sleep(200 * time.Microsecond)
			}
			w.Write([]byte(chi.URLParam(r, "n")))
		})
	})
	const clients, rounds, pipeline = 8, 60, 4
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		c := dial(t, ts.url, nil)
		c.hello()
		go func() {
			errs <- func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				id := 2
				for r := 0; r < rounds; r++ {
					for k := 0; k < pipeline; k++ {
						f := fmt.Sprintf(`{"type":"request","method":"GET","path":"/echo/%d","id":%d}`, (id+k)%10, id+k)
						if err := c.conn.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
							return err
						}
					}
					for k := 0; k < pipeline; k++ {
						_, got, err := c.conn.Read(ctx)
						if err != nil {
							return err
						}
						want := fmt.Sprintf(`{"type":"request","id":%d,"statusCode":200,"payload":"%d"}`, id+k, (id+k)%10)
						if string(got) != want {
							return fmt.Errorf("reply %s, want %s", got, want)
						}
					}
					id += pipeline
				}
				return nil
			}()
		}()
	}
	for i := 0; i < clients; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Most slow requests wait in the frames channel behind a handler and
	// are not inline; enough are. With the shared handlers, a handler is
	// given up as slow instead, and another takes over the FIFO.
	t.Logf("%d steals", steals.Load())
	if n := steals.Load(); n < 10 {
		t.Fatalf("%d steals, want at least 10: the race was not exercised", n)
	}
	if h := ts.handlers; h != nil {
		// Every handler given up as slow was counted back, and all end.
		waitFor(t, "the handlers to end", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.slow == 0 && h.running == 0
		})
	}
}

// TestRequestRoutingContext: a request over a socket is routed by chi as an
// HTTP request would be, through sub-routers, mounts and middleware that
// look at chi's routing context, while its context carries the socket and
// ends when the socket closes.
func TestRequestRoutingContext(t *testing.T) {
	ended := make(chan error, 1)
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rc := chi.RouteContext(r.Context())
				if rc == nil || rc.Routes == nil {
					http.Error(w, "no routing context", http.StatusInternalServerError)
					return
				}
				w.Header().Set("X-Matched", fmt.Sprint(rc.Routes.Match(chi.NewRouteContext(), r.Method, r.URL.Path)))
				next.ServeHTTP(w, r)
			})
		})
		r.Route("/orgs/{org}", func(r chi.Router) {
			sub := chi.NewRouter()
			sub.Get("/{user}", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "%s/%s %s %s socket=%t", chi.URLParam(r, "org"), chi.URLParam(r, "user"),
					chi.RouteContext(r.Context()).RoutePattern(), r.URL.RawQuery, SocketFrom(r.Context()) != nil)
			})
			r.Mount("/users", sub)
		})
		r.Get("/files/{name}", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%q %q", chi.URLParam(r, "name"), r.URL.Path)
		})
		r.Get("/wait", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			ended <- context.Cause(r.Context())
		})
	})
	c := dial(t, ts.url, nil)
	c.hello()
	c.roundTrip(`{"type":"request","method":"GET","path":"/orgs/acme/users/ann?x=1","id":2}`,
		`{"type":"request","id":2,"statusCode":200,"payload":"acme/ann /orgs/{org}/users/{user} x=1 socket=true"}`)
	// Escaped paths go through net/url, unescaped as for HTTP.
	c.roundTrip(`{"type":"request","method":"GET","path":"/files/a%20b","id":3}`,
		`{"type":"request","id":3,"statusCode":200,"payload":"\"a b\" \"/files/a b\""}`)
	// The routing context is reset between requests on one socket.
	c.roundTrip(`{"type":"request","method":"GET","path":"/orgs/x/users/y","id":4}`,
		`{"type":"request","id":4,"statusCode":200,"payload":"x/y /orgs/{org}/users/{user}  socket=true"}`)
	c.send(`{"type":"request","method":"GET","path":"/wait","id":5}`)
	time.Sleep(20 * time.Millisecond)
	c.conn.Close(websocket.StatusNormalClosure, "")
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("the request's context ended without a cause")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request's context did not end when the socket closed")
	}
}

// TestRequestOtherHandler: SetHandler with a handler that is not chi's; the
// request's context still carries the socket.
func TestRequestOtherHandler(t *testing.T) {
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %t %v", r.PathValue("id"), SocketFrom(r.Context()) != nil, chi.RouteContext(r.Context()) == nil)
	})
	ts.SetHandler(mux)
	c := dial(t, ts.url, nil)
	c.hello()
	c.roundTrip(`{"type":"request","method":"GET","path":"/items/7","id":2}`,
		`{"type":"request","id":2,"statusCode":200,"payload":"7 true true"}`)
}

// TestRepliesQueuedBehindSlowClient pipelines requests whose large replies
// the client does not read at first: the replies after them wait in the
// socket's queue while smaller ones are encoded. A socket reuses its reply
// frame buffer only once the reply in it was written, so every reply keeps
// its own bytes.
func TestRepliesQueuedBehindSlowClient(t *testing.T) {
	opts := quietOptions()
	opts.MaxQueueBytes = 64 << 20
	ts := newTestServer(t, opts, func(_ *Server, r chi.Router) {
		r.Get("/fill", func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			n, _ := strconv.Atoi(q.Get("n"))
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, strings.Repeat(q.Get("c"), n))
		})
	})
	c := dial(t, ts.url, nil)
	c.hello()
	// More than the connection's buffers take (megabytes on loopback), then
	// replies each smaller than the one before, which fit in its buffer.
	sizes := []int{6 << 20, 1000, 20, 7, 4 << 20, 500, 300, 1, 3 << 20, 64, 3, 2}
	for round := range 2 {
		for i, n := range sizes {
			c.send(fmt.Sprintf(`{"type":"request","method":"GET","path":"/fill?c=%c&n=%d","id":%d}`, 'a'+i, n, 100*round+i+2))
		}
		time.Sleep(20 * time.Millisecond) // the server reads and answers what it can meanwhile
		for i, n := range sizes {
			want := fmt.Sprintf(`{"type":"request","id":%d,"statusCode":200,"payload":"%s"}`,
				100*round+i+2, strings.Repeat(string(rune('a'+i)), n))
			if got := c.recv(); got != want {
				t.Fatalf("round %d, reply %d of %d bytes: got %d bytes: %.80s…%s", round, i, len(want), len(got), got, got[max(0, len(got)-60):])
			}
		}
	}
}
