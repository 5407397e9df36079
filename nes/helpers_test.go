package nes

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

type testServer struct {
	*Server
	http *httptest.Server
	url  string // ws://.../nes
}

// newTestServer starts a server mounted at /nes on a chi router; setup may
// declare routes and subscriptions. Everything stops with the test.
func newTestServer(t *testing.T, opts Options, setup func(s *Server, r chi.Router)) *testServer {
	t.Helper()
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r := chi.NewRouter()
	if setup != nil {
		setup(srv, r)
	}
	srv.Mount(r, "/nes")
	hs := httptest.NewServer(r)
	ts := &testServer{Server: srv, http: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/nes"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return ts
}

type rawClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dial(t *testing.T, url string, hdr http.Header) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("dial %s: %v (response %v)", url, err, resp)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &rawClient{t: t, conn: c}
}

func (c *rawClient) send(frame string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		c.t.Fatalf("write %s: %v", frame, err)
	}
}

// recv returns the next frame that is not a ping.
func (c *rawClient) recv() string {
	c.t.Helper()
	for {
		f, err := c.next(5 * time.Second)
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if f != `{"type":"ping"}` {
			return f
		}
	}
}

func (c *rawClient) next(d time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	return string(data), err
}

// expect reads the next non-ping frame and compares it byte for byte.
func (c *rawClient) expect(want string) {
	c.t.Helper()
	if got := c.recv(); got != want {
		c.t.Fatalf("frame:\n got %s\nwant %s", got, want)
	}
}

// roundTrip sends a frame and expects the reply.
func (c *rawClient) roundTrip(frame, want string) {
	c.t.Helper()
	c.send(frame)
	c.expect(want)
}

// hello sends a hello (id 1) and checks that it succeeded.
func (c *rawClient) hello(subs ...string) {
	c.t.Helper()
	f := `{"type":"hello","version":"2","id":1}`
	if len(subs) > 0 {
		b, _ := json.Marshal(subs)
		f = `{"type":"hello","version":"2","subs":` + string(b) + `,"id":1}`
	}
	c.send(f)
	got := c.recv()
	if !strings.HasPrefix(got, `{"type":"hello","id":1,`) {
		c.t.Fatalf("hello failed: %s", got)
	}
}

// closed waits for the connection to end and returns its close status.
func (c *rawClient) closed() websocket.StatusCode {
	c.t.Helper()
	for {
		_, err := c.next(10 * time.Second)
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func quietOptions() Options {
	return Options{Heartbeat: Heartbeat{Disabled: true}}
}

func newHTTPServer(t *testing.T, h http.Handler) string {
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/nes"
}
