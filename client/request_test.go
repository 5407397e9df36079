package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/nes"
)

func TestRequest(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := newServer(t, nes.Options{}, routes)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		if c.ID() != "" {
			t.Fatalf("ID before Connect: %q", c.ID())
		}
		connect(t, c, nil)
		rec.wait(t, "connect")
		if c.ID() == "" {
			t.Fatal("no socket id after Connect")
		}
		ctx := ctx5(t)

		res, err := c.Request(ctx, Request{Path: "/hello"})
		must(t, err)
		if res.StatusCode != 200 || string(res.Payload) != `{"greeting":"hi"}` {
			t.Fatalf("GET /hello: %d %s", res.StatusCode, res.Payload)
		}

		res, err = c.Request(ctx, Request{Method: "POST", Path: "/echo/5?q=1",
			Headers: map[string]string{"x-custom": "yes"}, Payload: map[string]int{"a": 1}})
		must(t, err)
		var echo struct {
			ID      string          `json:"id"`
			Payload json.RawMessage `json:"payload"`
			Q, Hdr  string
		}
		must(t, json.Unmarshal(res.Payload, &echo))
		if echo.ID != "5" || string(echo.Payload) != `{"a":1}` || echo.Q != "1" || echo.Hdr != "yes" {
			t.Fatalf("echo: %s", res.Payload)
		}

		res, err = c.Request(ctx, Request{Path: "/text"})
		must(t, err)
		if string(res.Payload) != `"plain text"` {
			t.Fatalf("text: %s", res.Payload)
		}

		_, err = c.Request(ctx, Request{Path: "/forbidden"})
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrServer) || e.StatusCode != 403 || e.Message != "Nope" ||
			!strings.Contains(string(e.Data), `"error":"Forbidden"`) {
			t.Fatalf("forbidden: %#v", err)
		}
		_, err = c.Request(ctx, Request{Path: "/nowhere"})
		if !errors.As(err, &e) || e.StatusCode != 404 {
			t.Fatalf("404: %v", err)
		}
		// Protocol error reply: the server refuses an Authorization header.
		_, err = c.Request(ctx, Request{Path: "/hello", Headers: map[string]string{"Authorization": "x"}})
		if !errors.As(err, &e) || e.StatusCode != 400 || e.Message != "Cannot include an Authorization header" {
			t.Fatalf("authorization header: %v", err)
		}
		// Misuse.
		if _, err := c.Request(ctx, Request{}); !errors.Is(err, ErrUser) {
			t.Fatalf("empty path: %v", err)
		}
		if _, err := c.Request(ctx, Request{Path: "/x", Payload: json.RawMessage("{")}); !errors.Is(err, ErrUser) {
			t.Fatalf("bad raw payload: %v", err)
		}
		if _, err := c.Request(ctx, Request{Path: "/x", Payload: func() {}}); !errors.Is(err, ErrUser) {
			t.Fatalf("unencodable payload: %v", err)
		}
		must(t, c.Disconnect(ctx))
		rec.wait(t, "disconnect will=false requested=true")
		if _, err := c.Request(ctx, Request{Path: "/hello"}); !errors.Is(err, ErrDisconnect) {
			t.Fatalf("after Disconnect: %v", err)
		}
		for _, e := range rec.events() {
			if strings.HasPrefix(e, "error") {
				t.Errorf("unexpected %s", e)
			}
		}
	})
}

func TestMessage(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := newServer(t, nes.Options{OnMessage: func(ctx context.Context, s *nes.Socket, msg json.RawMessage) (any, error) {
			if string(msg) == `"fail"` {
				return nil, nes.NewError(400, "You asked me to fail")
			}
			return map[string]json.RawMessage{"echo": msg}, nil
		}}, nil)
		c := newClient(t, ts.url, &Options{Encoding: enc})
		connect(t, c, nil)
		got, err := c.Message(ctx5(t), "hi")
		must(t, err)
		if string(got) != `{"echo":"hi"}` {
			t.Fatalf("message: %s", got)
		}
		_, err = c.Message(ctx5(t), "fail")
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 400 || e.Message != "You asked me to fail" {
			t.Fatalf("failing message: %v", err)
		}

		none := newServer(t, nes.Options{}, nil)
		c2 := newClient(t, none.url, &Options{Encoding: enc})
		connect(t, c2, nil)
		if _, err := c2.Message(ctx5(t), 1); !errors.As(err, &e) || e.StatusCode != 501 {
			t.Fatalf("no OnMessage: %v", err)
		}
	})
}

func TestRequestTimeout(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		release := make(chan struct{})
		ts := newServer(t, nes.Options{}, func(s *nes.Server, r chi.Router) {
			r.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
				<-release
				w.Write([]byte("late"))
			})
			routes(s, r)
		})
		defer close(release)
		rec := newRecorder()
		opts := rec.options(enc)
		opts.Timeout = 50 * time.Millisecond
		c := newClient(t, ts.url, opts)
		connect(t, c, nil)
		start := time.Now()
		_, err := c.Request(context.Background(), Request{Path: "/slow"})
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("timeout: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("timed out after %v", d)
		}
		// The caller's deadline works the same way; cancellation returns the
		// context's error.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		c2 := newClient(t, ts.url, &Options{Encoding: enc})
		connect(t, c2, nil)
		if _, err := c2.Request(ctx, Request{Path: "/slow"}); !errors.Is(err, ErrTimeout) {
			t.Fatalf("ctx deadline: %v", err)
		}
		cctx, ccancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, ccancel)
		if _, err := c2.Request(cctx, Request{Path: "/slow"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled: %v", err)
		}
		// The late replies are absorbed silently; the client still works.
		release <- struct{}{}
		release <- struct{}{}
		release <- struct{}{}
		res, err := c.Request(ctx5(t), Request{Path: "/hello"})
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("after timeout: %v", err)
		}
		for _, e := range rec.events() {
			if strings.HasPrefix(e, "error") {
				t.Errorf("unexpected %s", e)
			}
		}
	})
}

func TestPendingRequestFailsOnDisconnect(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		entered := make(chan struct{})
		release := make(chan struct{})
		ts := newServer(t, nes.Options{}, func(s *nes.Server, r chi.Router) {
			r.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
				entered <- struct{}{}
				<-release
			})
		})
		defer close(release)
		c := newClient(t, ts.url, &Options{Encoding: enc})
		connect(t, c, &ConnectOptions{NoReconnect: true})
		errc := make(chan error, 1)
		go func() {
			_, err := c.Request(context.Background(), Request{Path: "/slow"})
			errc <- err
		}()
		<-entered
		ts.disconnectAll()
		select {
		case err := <-errc:
			if !errors.Is(err, ErrDisconnect) {
				t.Fatalf("pending request: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("pending request not failed")
		}
	})
}

func TestChunkedMessages(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := newServer(t, nes.Options{MaxChunkChars: 37}, func(s *nes.Server, r chi.Router) {
			routes(s, r)
			must(t, s.Subscription("/news", nes.SubscriptionOptions{}))
		})
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, nil)
		res, err := c.Request(ctx5(t), Request{Path: "/big"})
		must(t, err)
		var big map[string]string
		must(t, json.Unmarshal(res.Payload, &big))
		if big["big"] != strings.Repeat("é😀x", 400) {
			t.Fatalf("big payload corrupted: %.80s", res.Payload)
		}
		got := make(chan string, 1)
		_, err = SubscribeJSON(ctx5(t), c, "/news", func(msg string, _ Flags) { got <- msg })
		must(t, err)
		want := strings.Repeat("chunk ", 100)
		must(t, ts.Publish(ctx5(t), "/news", want))
		if g := <-got; g != want {
			t.Fatalf("pub: %q", g)
		}
		for _, e := range rec.events() {
			if strings.HasPrefix(e, "error") {
				t.Errorf("unexpected %s", e)
			}
		}
	})
}

func TestChunkBufferBounded(t *testing.T) {
	url := rawServer(t, func(ctx context.Context, ws *websocketConn) {
		id, err := readHello(ctx, ws)
		if err != nil {
			return
		}
		write := func(s string) { ws.Write(ctx, websocketText, []byte(s)) }
		write(`{"type":"hello","id":` + id + `,"heartbeat":false,"socket":"raw"}`)
		// An oversized chunked message, then a good one.
		for range 10 {
			write("+" + strings.Repeat("x", 100))
		}
		write("!}")
		write(`+{"type":"update",`)
		write(`!"message":"ok"}`)
		drain(ctx, ws)
	})
	rec := newRecorder()
	opts := rec.options(JSON)
	opts.MaxMessageBytes = 500
	c := newClient(t, url, opts)
	connect(t, c, &ConnectOptions{NoReconnect: true})
	if e := rec.wait(t, "error"); !strings.Contains(e, "protocol") || !strings.Contains(e, "larger than 500") {
		t.Fatalf("oversized: %s", e)
	}
	if e := rec.wait(t, "update"); e != `update "ok"` {
		t.Fatalf("after oversized: %s", e)
	}
}

func TestConcurrentRequests(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := newServer(t, nes.Options{}, routes)
		c := newClient(t, ts.url, &Options{Encoding: enc, Timeout: 10 * time.Second})
		connect(t, c, nil)
		var wg sync.WaitGroup
		errs := make(chan error, 1000)
		for g := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					res, err := c.Request(context.Background(), Request{Method: "POST", Path: fmt.Sprintf("/echo/%d-%d", g, i)})
					if err != nil {
						errs <- err
						return
					}
					if !strings.Contains(string(res.Payload), fmt.Sprintf(`"id":"%d-%d"`, g, i)) {
						errs <- fmt.Errorf("reply mismatch: %s", res.Payload)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}
