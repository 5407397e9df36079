package nes

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// recordConn records every Write as one call.
type recordConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	fail   error
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordConn) calls() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.writes...)
}

func TestCorkConnBatchesWrites(t *testing.T) {
	rc := &recordConn{}
	c := &corkConn{Conn: rc}
	// Uncorked: straight through.
	if _, err := c.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	c.cork(0)
	for _, s := range []string{"b", "cc", "ddd"} {
		if n, err := c.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("corked Write = %d, %v", n, err)
		}
	}
	if got := len(rc.calls()); got != 1 {
		t.Fatalf("%d writes reached the connection while corked, want 1 (the uncorked one)", got)
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	got := rc.calls()
	if len(got) != 2 || string(got[0]) != "a" || string(got[1]) != "bccddd" {
		t.Fatalf("writes %q, want [a bccddd]", got)
	}
	// An empty batch writes nothing.
	c.cork(0)
	if err := c.uncork(); err != nil || len(rc.calls()) != 2 {
		t.Fatalf("empty batch: %v, %d writes", err, len(rc.calls()))
	}
}

func TestCorkConnFlushesLargeBatches(t *testing.T) {
	rc := &recordConn{}
	c := &corkConn{Conn: rc}
	c.cork(0)
	chunk := bytes.Repeat([]byte("x"), 1000)
	for range 100 {
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, w := range rc.calls() {
		if len(w) > corkFlushBytes+len(chunk) {
			t.Errorf("a write of %d bytes, want at most %d", len(w), corkFlushBytes+len(chunk))
		}
		total += len(w)
	}
	if total != 100*len(chunk) || len(rc.calls()) < 2 {
		t.Fatalf("%d bytes in %d writes, want 100000 in at least 2", total, len(rc.calls()))
	}
}

func TestCorkConnErrorsStick(t *testing.T) {
	boom := errors.New("boom")
	rc := &recordConn{fail: boom}
	c := &corkConn{Conn: rc}
	c.cork(0)
	_, _ = c.Write([]byte("x"))
	if err := c.uncork(); !errors.Is(err, boom) {
		t.Fatalf("uncork = %v, want boom", err)
	}
	if _, err := c.Write([]byte("y")); !errors.Is(err, boom) {
		t.Fatalf("Write after a failure = %v, want boom", err)
	}
}

func TestCorkConnReadsPendingFirst(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &corkConn{Conn: a, rdata: []byte("early ")}
	go func() { _, _ = b.Write([]byte("later")) }()
	got := make([]byte, 0, 16)
	buf := make([]byte, 4)
	for len(got) < len("early later") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "early later" {
		t.Fatalf("read %q", got)
	}
}

// A client that sends its hello in the same packet as the upgrade request
// (bytes net/http has buffered at the hijack) is served.
func TestHelloSentWithTheUpgrade(t *testing.T) {
	srv, err := New(quietOptions())
	if err != nil {
		t.Fatal(err)
	}
	url := newHTTPServer(t, srv)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	host := strings.TrimPrefix(url, "ws://")
	host = host[:strings.Index(host, "/")]
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hello := []byte(`{"type":"hello","version":"2","id":1}`)
	frame := append([]byte{0x81, 0x80 | byte(len(hello)), 0, 0, 0, 0}, hello...) // masked with a zero key
	req := "GET /nes HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	head := make([]byte, 2)
	if _, err := io.ReadFull(br, head); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, head[1]&0x7f)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(body), `{"type":"hello","id":1,`) {
		t.Fatalf("reply %s", body)
	}
}

// gateConn counts writes and can hold them until released.
type gateConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	gate   chan struct{} // non-nil: writes wait for it to close
}

func (c *gateConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	gate := c.gate
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return c.Conn.Write(p)
}

// SetWriteDeadline is ignored: the gate stands for a write in progress, not
// a slow client.
func (c *gateConn) SetWriteDeadline(time.Time) error { return nil }

type gateListener struct {
	net.Listener
	conns chan *gateConn
}

func (l *gateListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &gateConn{Conn: c}
	l.conns <- gc
	return gc, nil
}

// Frames queued while a write is in progress leave together, in one write
// of the network connection.
func TestQueuedFramesShareAWrite(t *testing.T) {
	srv, err := New(quietOptions())
	if err != nil {
		t.Fatal(err)
	}
	must(t, srv.Subscription("/feed", SubscriptionOptions{}))
	hs := httptest.NewUnstartedServer(srv)
	gl := &gateListener{Listener: hs.Listener, conns: make(chan *gateConn, 1)}
	hs.Listener = gl
	hs.Start()
	defer hs.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	c := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	c.hello("/feed")
	gc := <-gl.conns
	gate := make(chan struct{})
	gc.mu.Lock()
	gc.gate, gc.writes = gate, 0
	gc.mu.Unlock()

	must(t, srv.Publish(context.Background(), "/feed", 0)) // its write waits at the gate
	waitFor(t, "the first write", func() bool { gc.mu.Lock(); defer gc.mu.Unlock(); return gc.writes == 1 })
	for i := 1; i < 50; i++ {
		must(t, srv.Publish(context.Background(), "/feed", i))
	}
	close(gate)
	for i := range 50 {
		c.expect(`{"type":"pub","path":"/feed","message":` + strconv.Itoa(i) + `}`)
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	c.conn.CloseNow()
	if gc.writes != 2 {
		t.Fatalf("50 publications took %d writes, want 2 (the first, then the 49 queued behind it)", gc.writes)
	}
}

func TestWriteMessageFraming(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		for _, bin := range []bool{false, true} {
			rc := &recordConn{}
			c := &corkConn{Conn: rc}
			c.cork(0)
			p := bytes.Repeat([]byte("a"), n)
			if err := c.writeMessage(bin, p); err != nil {
				t.Fatal(err)
			}
			if err := c.uncork(); err != nil {
				t.Fatal(err)
			}
			var all []byte
			for _, w := range rc.calls() {
				all = append(all, w...)
			}
			op := byte(0x81)
			if bin {
				op = 0x82
			}
			if all[0] != op {
				t.Fatalf("n=%d: first byte %#x, want %#x", n, all[0], op)
			}
			var length, head int
			switch l := all[1]; {
			case l < 126:
				length, head = int(l), 2
			case l == 126:
				length, head = int(all[2])<<8|int(all[3]), 4
			default:
				for _, b := range all[2:10] {
					length = length<<8 | int(b)
				}
				head = 10
			}
			if all[1]&0x80 != 0 || length != n || len(all) != head+n || !bytes.Equal(all[head:], p) {
				t.Fatalf("n=%d: frame of %d bytes with length %d and header %d", n, len(all), length, head)
			}
		}
	}
	if err := (&corkConn{Conn: &recordConn{}}).writeMessage(false, []byte("x")); err == nil {
		t.Fatal("writeMessage uncorked succeeded")
	}
}

// Messages of every length class reach a real websocket client, in both
// encodings, through the writer's own framing.
func TestLargeAndSmallPublications(t *testing.T) {
	srv, err := New(quietOptions())
	if err != nil {
		t.Fatal(err)
	}
	must(t, srv.Subscription("/feed", SubscriptionOptions{}))
	url := newHTTPServer(t, srv)
	defer func() { _ = srv.Shutdown(context.Background()) }()
	c := dial(t, url, nil)
	c.hello("/feed")
	for _, n := range []int{0, 100, 126, 65535, 70000} {
		msg := strings.Repeat("é", n/2)
		must(t, srv.Publish(context.Background(), "/feed", msg))
		c.expect(`{"type":"pub","path":"/feed","message":"` + msg + `"}`)
	}
	c.conn.CloseNow()
}

// A client that stops reading does not hold up the others: once its
// connection stops taking bytes, its frames are written by a goroutine of
// its own, and it still gets everything when it reads again.
func TestStalledClientDoesNotDelayOthers(t *testing.T) {
	srv, err := New(Options{Heartbeat: Heartbeat{Disabled: true}, MaxQueueBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if canTryWrite {
		srv.writers.max = 1 // a machine with 2 Ps has one shared writer: it must not wait for the stalled client
	}
	must(t, srv.Subscription("/feed", SubscriptionOptions{}))
	url := newHTTPServer(t, srv)
	defer func() { _ = srv.Shutdown(context.Background()) }()

	// The stalled client does not read for now.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stalled, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	stalled.SetReadLimit(1 << 20)
	defer stalled.CloseNow()
	must(t, stalled.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","version":"2","id":1,"subs":["/feed"]}`)))
	if _, _, err := stalled.Read(ctx); err != nil {
		t.Fatal(err)
	}
	fast := dial(t, url, nil)
	fast.hello("/feed")

	const n, size = 600, 32 << 10 // 19.7 MB: far more than the connection's buffers take
	payload := strings.Repeat("z", size)
	start := time.Now()
	for i := range n {
		must(t, srv.Publish(context.Background(), "/feed", map[string]any{"i": i, "p": payload}))
	}
	for i := range n {
		got := fast.recv()
		if !strings.Contains(got, `"i":`+strconv.Itoa(i)+`,`) {
			t.Fatalf("fast client: message %d is %.40s", i, got)
		}
	}
	t.Logf("fast client done after %v", time.Since(start))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the reading client needed %v for %d messages while another stalled", d, n)
	}
	// The stalled client reads again and gets every message, in order.
	for i := range n {
		_, data, err := stalled.Read(ctx)
		if err != nil {
			t.Fatalf("stalled client, message %d: %v", i, err)
		}
		if !strings.Contains(string(data), `"i":`+strconv.Itoa(i)+`,`) {
			t.Fatalf("stalled client: message %d is %.40s", i, data)
		}
	}
	fast.conn.CloseNow()
}
