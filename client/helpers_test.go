package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/internal/leakcheck"
	"github.com/nes-go/nes/nes"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// encodings are the codecs every wire-level test runs over.
var encodings = []Encoding{JSON, MessagePack}

// forEachEncoding runs f as a subtest per encoding.
func forEachEncoding(t *testing.T, f func(t *testing.T, enc Encoding)) {
	for _, enc := range encodings {
		t.Run(enc.String(), func(t *testing.T) { f(t, enc) })
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type testServer struct {
	*nes.Server
	hs  *httptest.Server
	url string // ws://.../nes
}

// newServer starts a nes server mounted at /nes on a chi router (heartbeat
// disabled unless opts sets one); setup may declare routes and
// subscriptions. It stops with the test.
func newServer(t testing.TB, opts nes.Options, setup func(s *nes.Server, r chi.Router)) *testServer {
	t.Helper()
	return newServerOn(t, nil, opts, setup)
}

func newServerOn(t testing.TB, ln net.Listener, opts nes.Options, setup func(s *nes.Server, r chi.Router)) *testServer {
	t.Helper()
	if opts.Heartbeat == (nes.Heartbeat{}) {
		opts.Heartbeat.Disabled = true
	}
	srv, err := nes.New(opts)
	must(t, err)
	r := chi.NewRouter()
	if setup != nil {
		setup(srv, r)
	}
	srv.Mount(r, "/nes")
	hs := httptest.NewUnstartedServer(r)
	if ln != nil {
		hs.Listener.Close()
		hs.Listener = ln
	}
	hs.Start()
	ts := &testServer{Server: srv, hs: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/nes"}
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

func (ts *testServer) stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	ts.hs.Close()
}

// disconnectAll closes every socket of the server.
func (ts *testServer) disconnectAll() {
	ts.EachSocket(func(s *nes.Socket) bool { s.Disconnect(); return true })
}

// recorder records the client's callbacks as strings.
type recorder struct {
	ch chan string
	mu sync.Mutex
	ev []string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 100000)} }

func (r *recorder) add(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.ev = append(r.ev, s)
	r.mu.Unlock()
	r.ch <- s
}

func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ev...)
}

// wait returns the next event starting with prefix, skipping others.
func (r *recorder) wait(t testing.TB, prefix string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-r.ch:
			if strings.HasPrefix(e, prefix) {
				return e
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %q; events: %q", prefix, r.events())
		}
	}
}

// options returns client options recording every callback.
func (r *recorder) options(enc Encoding) *Options {
	return &Options{
		Encoding:     enc,
		OnConnect:    func() { r.add("connect") },
		OnDisconnect: func(will bool, info DisconnectInfo) { r.add("disconnect will=%v requested=%v", will, info.Requested) },
		OnUpdate:     func(msg json.RawMessage) { r.add("update %s", msg) },
		OnError: func(err error) {
			var e *Error
			if !errors.As(err, &e) {
				r.add("error NOT *Error %v", err)
				return
			}
			r.add("error %s %v", e.Type, err)
		},
		OnHeartbeatTimeout: func(will bool) { r.add("heartbeat will=%v", will) },
	}
}

// newClient returns a client for ts, disconnected with the test.
func newClient(t testing.TB, url string, opts *Options) *Client {
	t.Helper()
	c := New(url, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Disconnect(ctx); err != nil {
			t.Errorf("Disconnect: %v", err)
		}
	})
	return c
}

func connect(t testing.TB, c *Client, opts *ConnectOptions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, c.Connect(ctx, opts))
}

func ctx5(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fastReconnect makes reconnections quick in tests.
var fastReconnect = &ConnectOptions{Delay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}

// customAuth accepts "Authorization: Custom <user>" for john and ed.
func customAuth(r *http.Request) (*auth.Credentials, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	user, ok := strings.CutPrefix(h, "Custom ")
	if !ok || (user != "john" && user != "ed") {
		return nil, auth.Reject("Bad credentials")
	}
	return &auth.Credentials{User: user, Scope: []string{"a"}}, nil
}

// routes declares the routes the tests call.
func routes(s *nes.Server, r chi.Router) {
	r.Get("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"greeting":"hi"}`)
	})
	r.Post("/echo/{id}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if len(body) == 0 {
			body = []byte("null")
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": chi.URLParam(r, "id"), "payload": json.RawMessage(body),
			"q": r.URL.Query().Get("q"), "hdr": r.Header.Get("X-Custom"),
		})
	})
	r.Get("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "plain text")
	})
	r.Get("/forbidden", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"statusCode":403,"error":"Forbidden","message":"Nope"}`)
	})
	r.Get("/who", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(nes.CredentialsFrom(r.Context()))
	})
	r.Get("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"big": strings.Repeat("é😀x", 400)})
	})
}

// rawServer serves a websocket whose server side is script (for behaviour
// nes itself never shows: silence, garbage).
func rawServer(t testing.TB, script func(ctx context.Context, c *websocket.Conn)) string {
	t.Helper()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		closed bool
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if closed {
			mu.Unlock()
			return
		}
		wg.Add(1)
		mu.Unlock()
		defer wg.Done()
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		script(r.Context(), c)
	}))
	t.Cleanup(func() {
		mu.Lock()
		closed = true
		mu.Unlock()
		hs.CloseClientConnections()
		hs.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

// readHello reads the client's hello on a raw connection and returns its id.
func readHello(ctx context.Context, c *websocket.Conn) (string, error) {
	_, data, err := c.Read(ctx)
	if err != nil {
		return "", err
	}
	var m struct {
		Type string          `json:"type"`
		ID   json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Type != "hello" {
		return "", fmt.Errorf("not a hello: %s", data)
	}
	return string(m.ID), nil
}

// Short names for the raw websocket tests.
type websocketConn = websocket.Conn

const websocketText = websocket.MessageText

// drain reads (and discards) until the connection ends.
func drain(ctx context.Context, ws *websocket.Conn) {
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			return
		}
	}
}
