package nes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
)

func TestCustomMessages(t *testing.T) {
	opts := quietOptions()
	opts.OnMessage = func(ctx context.Context, s *Socket, msg json.RawMessage) (any, error) {
		switch string(msg) {
		case `"fail"`:
			return nil, NewError(http.StatusBadRequest, "You asked me to fail")
		case `"plain"`:
			return nil, errors.New("secret internals")
		case `"nothing"`:
			return nil, nil
		case `"panic"`:
			panic("bug")
		}
		return map[string]json.RawMessage{"echo": msg}, nil
	}
	ts := newTestServer(t, opts, nil)
	c := dial(t, ts.url, nil)
	c.hello()
	c.roundTrip(`{"type":"message","message":"hi","id":11}`, `{"type":"message","id":11,"message":{"echo":"hi"}}`)
	c.roundTrip(`{"type":"message","message":"fail","id":12}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"You asked me to fail"},"type":"message","id":12}`)
	c.roundTrip(`{"type":"message","message":"plain","id":13}`,
		`{"statusCode":500,"payload":{"error":"Internal Server Error","message":"An internal server error occurred"},"type":"message","id":13}`)
	c.roundTrip(`{"type":"message","message":"nothing","id":14}`, `{"type":"message","id":14}`)
	c.roundTrip(`{"type":"message","message":"panic","id":15}`,
		`{"statusCode":500,"payload":{"error":"Internal Server Error","message":"An internal server error occurred"},"type":"message","id":15}`)
}

func TestCustomMessageNotImplemented(t *testing.T) {
	ts := newTestServer(t, quietOptions(), nil)
	c := dial(t, ts.url, nil)
	c.hello()
	c.roundTrip(`{"type":"message","message":"hi","id":13}`,
		`{"statusCode":501,"payload":{"error":"Not Implemented","message":"Not Implemented"},"type":"message","id":13}`)
}

func TestOrigins(t *testing.T) {
	opts := quietOptions()
	opts.Origins = []string{"https://app.example.com", "*.trusted.test"}
	ts := newTestServer(t, opts, nil)
	refused := func(origin string) int {
		req, _ := http.NewRequest("GET", ts.http.URL+"/nes", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := refused("https://evil.example"); code != http.StatusUnauthorized {
		t.Fatalf("bad origin got %d", code)
	}
	for _, ok := range []string{"https://app.example.com", "https://x.trusted.test", ts.http.URL} {
		if code := refused(ok); code != http.StatusSwitchingProtocols {
			t.Fatalf("origin %s got %d", ok, code)
		}
	}
	dial(t, ts.url, nil).hello() // no Origin header: a non-browser client
}

func TestMaxConnections(t *testing.T) {
	opts := quietOptions()
	opts.MaxConnections = 2
	ts := newTestServer(t, opts, nil)
	a := dial(t, ts.url, nil)
	a.hello()
	b := dial(t, ts.url, nil)
	b.hello()
	c := dial(t, ts.url, nil)
	if code := c.closed(); code != CloseTooManyConnections {
		t.Fatalf("close code %d", code)
	}
	if s := ts.Stats(); s.RejectedConnections != 1 || s.Connections != 2 {
		t.Fatalf("stats %+v", s)
	}
	a.conn.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "slot freed", func() bool { return ts.Stats().Connections == 1 })
	dial(t, ts.url, nil).hello()
}

func TestHeartbeat(t *testing.T) {
	ts := newTestServer(t, Options{Heartbeat: Heartbeat{Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond}}, nil)
	// A client that answers pings stays.
	alive := dial(t, ts.url, nil)
	alive.hello()
	stop := make(chan struct{})
	answered := make(chan int)
	go func() {
		n := 0
		defer func() { answered <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			f, err := alive.next(time.Second)
			if err != nil {
				return
			}
			if f == `{"type":"ping"}` {
				n++
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				alive.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","id":99}`))
				cancel()
			}
		}
	}()
	// A client that never answers is closed after interval + timeout.
	silent := dial(t, ts.url, nil)
	silent.hello()
	start := time.Now()
	for {
		f, err := silent.next(3 * time.Second)
		if err != nil {
			if code := websocket.CloseStatus(err); code != CloseHeartbeatTimeout {
				t.Fatalf("silent socket closed with %v", err)
			}
			break
		}
		if f != `{"type":"ping"}` {
			t.Fatalf("unexpected frame %s", f)
		}
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("silent socket closed after %v", d)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	if n := <-answered; n < 3 {
		t.Fatalf("alive client saw %d pings", n)
	}
	if s := ts.Stats(); s.HeartbeatCloses != 1 || s.Connections != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// stallConn is an in-process connection whose writes block until released,
// so the socket's queue fills up.
type stallConn struct {
	release chan struct{}
	closed  chan struct{}
	code    atomic.Int32
	once    atomic.Bool
}

func newStallConn() *stallConn {
	return &stallConn{release: make(chan struct{}), closed: make(chan struct{})}
}

func (c *stallConn) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	select {
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	case <-c.closed:
		return 0, nil, errors.New("closed")
	}
}

func (c *stallConn) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	select {
	case <-c.release:
		return nil
	case <-c.closed:
		return errors.New("closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *stallConn) Close(code websocket.StatusCode, reason string) error {
	c.code.Store(int32(code))
	return c.CloseNow()
}

func (c *stallConn) CloseNow() error {
	if c.once.CompareAndSwap(false, true) {
		close(c.closed)
	}
	return nil
}

func TestSlowConsumerClosed(t *testing.T) {
	srv, err := New(Options{Heartbeat: Heartbeat{Disabled: true}, MaxQueueBytes: 1000})
	must(t, err)
	must(t, srv.Subscription("/feed", SubscriptionOptions{}))
	conn := newStallConn()
	sock, done := startInProcess(t, srv, conn)
	sock.helloed.Store(true)
	sock.ready.Store(true)
	if e := sock.subscribe(context.Background(), "/feed"); e != nil {
		t.Fatal(e.Message)
	}
	msg := strings.Repeat("x", 100)
	for i := 0; i < 20; i++ {
		must(t, srv.Publish(context.Background(), "/feed", msg)) // never blocks
	}
	if sock.IsOpen() {
		t.Fatal("socket over its queue bound is still open")
	}
	close(conn.release) // the client drains again: the close frame can go out
	<-done
	if got := conn.code.Load(); got != int32(CloseSlowConsumer) {
		t.Fatalf("close code %d, want %d", got, CloseSlowConsumer)
	}
	if s := srv.Stats(); s.SlowConsumerCloses != 1 {
		t.Fatalf("stats %+v", s)
	}
	if err := sock.Send(context.Background(), "late"); !errors.Is(err, ErrSocketClosed) {
		t.Fatalf("Send after close = %v", err)
	}
	must(t, srv.Shutdown(context.Background()))
}

func TestWriteTimeoutAborts(t *testing.T) {
	srv, err := New(Options{Heartbeat: Heartbeat{Disabled: true}, WriteTimeout: 40 * time.Millisecond})
	must(t, err)
	conn := newStallConn()
	sock, done := startInProcess(t, srv, conn)
	must(t, sock.Send(context.Background(), "stuck"))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stuck write was not aborted")
	}
	must(t, srv.Shutdown(context.Background()))
}

// startInProcess serves an in-process connection; done closes when the
// socket is gone.
func startInProcess(t *testing.T, srv *Server, conn wsConn) (*Socket, <-chan struct{}) {
	req, _ := http.NewRequest("GET", "http://127.0.0.1/nes", nil)
	done := serveInProcess(srv, req, conn)
	var sock *Socket
	waitFor(t, "socket", func() bool { sock = srv.firstSocket(); return sock != nil })
	return sock, done
}

// serveInProcess serves conn as one socket and returns a channel closed
// once that socket is torn down. serveConn alone may return before: its
// reader ends early when a new reader takes over (a frame handled past
// stealAfter) or when the socket parks.
func serveInProcess(srv *Server, req *http.Request, conn wsConn) <-chan struct{} {
	done := make(chan struct{})
	srv.wg.Add(1) // held by the socket until its teardown
	go func() {
		defer close(done)
		srv.serveConn(req, conn, nil, 0)
		// Bounded: a socket still registered after this is reported by
		// the caller as closed too early, not waited on forever.
		for deadline := time.Now().Add(10 * time.Second); srv.serves(conn) && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
	}()
	return done
}

// serves reports whether a registered socket has conn as its connection.
func (s *Server) serves(conn wsConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sock := range s.sockets {
		if sock.conn == conn {
			return true
		}
	}
	return false
}

func (s *Server) firstSocket() *Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sock := range s.sockets {
		return sock
	}
	return nil
}

func TestFrameTooBig(t *testing.T) {
	opts := quietOptions()
	opts.MaxMessageBytes = 1024
	ts := newTestServer(t, opts, nil)
	other := dial(t, ts.url, nil)
	other.hello()
	c := dial(t, ts.url, nil)
	c.hello()
	c.send(`{"type":"message","message":"` + strings.Repeat("x", 2000) + `","id":2}`)
	if code := c.closed(); code != websocket.StatusMessageTooBig {
		t.Fatalf("close code %d", code)
	}
	other.roundTrip(`{"type":"unsub","path":"/a","id":2}`, `{"type":"unsub","id":2}`)
}

func TestShutdown(t *testing.T) {
	var disconnected atomic.Int32
	srv, err := New(Options{Heartbeat: Heartbeat{Interval: 50 * time.Millisecond, Timeout: 20 * time.Millisecond},
		OnDisconnection: func(*Socket) { disconnected.Add(1) }})
	must(t, err)
	r := chi.NewRouter()
	srv.Mount(r, "/nes")
	ts := &testServer{Server: srv}
	hs := newHTTPServer(t, r)
	ts.url = hs
	clients := []*rawClient{dial(t, ts.url, nil), dial(t, ts.url, nil)}
	for _, c := range clients {
		c.hello()
	}
	codes := make(chan websocket.StatusCode, len(clients))
	for _, c := range clients {
		go func(c *rawClient) {
			for {
				if _, err := c.next(5 * time.Second); err != nil {
					codes <- websocket.CloseStatus(err)
					return
				}
			}
		}(c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, srv.Shutdown(ctx))
	for range clients {
		if code := <-codes; code != websocket.StatusGoingAway {
			t.Fatalf("close code %d", code)
		}
	}
	if n := disconnected.Load(); n != 2 {
		t.Fatalf("OnDisconnection ran %d times", n)
	}
	if err := srv.Publish(context.Background(), "/a", 1); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Publish after Shutdown = %v", err)
	}
	if err := srv.Broadcast(context.Background(), 1); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Broadcast after Shutdown = %v", err)
	}
	// Upgrades after Shutdown are refused.
	_, res, err := websocket.Dial(context.Background(), ts.url, nil)
	if err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v %v", err, res)
	}
}

// A reader reads frames into a buffer it keeps between messages, and drops
// the buffer after a message over maxScratch. Frames queued while a handler
// is busy are copies: the next read into the buffer does not change them.
func TestMessageSizesInTurn(t *testing.T) {
	opts := quietOptions()
	release := make(chan struct{})
	opts.OnMessage = func(ctx context.Context, s *Socket, msg json.RawMessage) (any, error) {
		body := strings.Trim(string(msg), `"`)
		if body == "wait" {
			<-release // the frames below queue meanwhile
			return "waited", nil
		}
		if strings.Trim(body, body[:1]) != "" {
			return nil, errors.New("mixed bytes")
		}
		return map[string]any{"n": len(body), "c": body[:1]}, nil
	}
	ts := newTestServer(t, opts, nil)
	c := dial(t, ts.url, nil)
	c.hello()
	c.send(`{"type":"message","message":"wait","id":2}`)
	sizes := []int{10, maxScratch * 3, 20, maxScratch + 1, 5, 600, maxScratch - 10, 7}
	for i, n := range sizes {
		c.send(fmt.Sprintf(`{"type":"message","message":"%s","id":%d}`, strings.Repeat(string(rune('a'+i)), n), i+3))
	}
	time.Sleep(50 * time.Millisecond) // the frames are read and queued
	close(release)
	c.expect(`{"type":"message","id":2,"message":"waited"}`)
	for i, n := range sizes {
		c.expect(fmt.Sprintf(`{"type":"message","id":%d,"message":{"c":"%s","n":%d}}`, i+3, string(rune('a'+i)), n))
	}
	// And one at a time, the buffer kept or dropped in between.
	for i, n := range sizes {
		ch := string(rune('k' + i))
		c.roundTrip(fmt.Sprintf(`{"type":"message","message":"%s","id":%d}`, strings.Repeat(ch, n), i+20),
			fmt.Sprintf(`{"type":"message","id":%d,"message":{"c":"%s","n":%d}}`, i+20, ch, n))
	}
}
