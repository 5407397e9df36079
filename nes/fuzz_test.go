package nes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
)

// scriptConn feeds a fixed list of frames to a socket, then blocks until
// closed, and records every frame the socket writes.
type scriptConn struct {
	mu      sync.Mutex
	in      [][]byte
	out     [][]byte
	wrote   chan struct{}
	closed  chan struct{}
	closeMu sync.Once
}

func newScriptConn(frames [][]byte) *scriptConn {
	return &scriptConn{in: frames, wrote: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (c *scriptConn) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	c.mu.Lock()
	if len(c.in) > 0 {
		f := c.in[0]
		c.in = c.in[1:]
		c.mu.Unlock()
		return websocket.MessageText, f, nil
	}
	c.mu.Unlock()
	select {
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	case <-c.closed:
		return 0, nil, errors.New("closed")
	}
}

func (c *scriptConn) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	c.mu.Lock()
	c.out = append(c.out, append([]byte(nil), p...))
	c.mu.Unlock()
	select {
	case c.wrote <- struct{}{}:
	default:
	}
	return nil
}

func (c *scriptConn) Close(websocket.StatusCode, string) error { return c.CloseNow() }

func (c *scriptConn) CloseNow() error {
	c.closeMu.Do(func() { close(c.closed) })
	return nil
}

func (c *scriptConn) written() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.out...)
}

const fuzzSentinel = `{"type":"unsub","path":"/x","id":"fuzz-end"}`

// FuzzSocketFrames sends arbitrary frames (the input split on NUL bytes) to
// one socket of a server with subscriptions, routes and hooks, followed by a
// sentinel message. The server must not panic, must answer the sentinel, and
// every frame it writes must be one JSON object.
func FuzzSocketFrames(f *testing.F) {
	seeds := []string{
		`{"type":"hello","version":"2","subs":["/items/1"],"id":1}` + "\x00" + `{"type":"request","method":"POST","path":"/echo?q=1","payload":{"a":[1,2]},"id":2}`,
		`{"type":"hello","version":"2","id":1}` + "\x00" + `{"type":"sub","path":"/items/{x}","id":2}` + "\x00" + `{"type":"message","message":"hi","id":3}`,
		`{"type":"hello","version":"2","id":1}` + "\x00" + `{"type":"request","method":"GET","path":"//evil.example/x","headers":{"Host":"a"},"id":2}`,
		`{"type":"hello","version":1,"id":1}` + "\x00" + `{"type":"hello","version":"2","auth":{"headers":{"a":"b"}},"id":2}`,
		`{"type":"hello","version":"2","id":1}` + "\x00" + `{"type":"request","method":"GET","path":"/panic","id":"p"}`,
		`{"type":"hello","version":"2","id":1}` + "\x00" + `{"type":"request","method":"PUT","path":"/echo","payload":"\ud83d","id":2}`,
		`[[[[[[[[[[`, `{"type":"ping","id":1}`, `{"id":0}`, "\xff\xfe",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	srv, err := New(Options{
		Heartbeat:     Heartbeat{Disabled: true},
		HelloTimeout:  -1,
		MaxChunkChars: 0,
		Headers:       []string{"*"},
		OnMessage: func(ctx context.Context, s *Socket, msg json.RawMessage) (any, error) {
			if bytes.Contains(msg, []byte("fail")) {
				return nil, NewError(http.StatusTeapot, "no")
			}
			return msg, nil
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	must(f, srv.Subscription("/items/{id}", SubscriptionOptions{}))
	must(f, srv.Subscription("/files/{name}.{ext}", SubscriptionOptions{}))
	r := chi.NewRouter()
	r.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.Write(body)
	})
	r.Get("/panic", func(w http.ResponseWriter, r *http.Request) { panic("route bug") })
	srv.SetHandler(r)
	req, _ := http.NewRequest("GET", "http://127.0.0.1/nes", nil)

	f.Fuzz(func(t *testing.T, input []byte) {
		frames := bytes.Split(input, []byte{0})
		if len(frames) > 16 {
			frames = frames[:16]
		}
		frames = append(frames, []byte(fuzzSentinel))
		conn := newScriptConn(frames)
		done := serveInProcess(srv, req, conn)
		deadline := time.After(10 * time.Second)
	wait:
		for {
			for _, w := range conn.written() {
				if bytes.Contains(w, []byte(`"id":"fuzz-end"`)) {
					break wait
				}
			}
			select {
			case <-conn.wrote:
			case <-done:
				t.Fatalf("socket closed before answering the sentinel; wrote %q", conn.written())
			case <-deadline:
				t.Fatalf("no answer to the sentinel; wrote %q", conn.written())
			}
		}
		conn.CloseNow()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("socket not torn down 10 s after its connection closed; wrote %q", conn.written())
		}
		for _, w := range conn.written() {
			if len(w) == 0 || w[0] != '{' || !json.Valid(w) {
				t.Fatalf("invalid frame written: %q", w)
			}
		}
	})
}

// FuzzRequestPath checks parseRequestPath against url.ParseRequestURI, which
// it must agree with on every path that starts with "/".
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{"/", "/echo", "/a/b?x=1&y=2", "/a?", "/a??", "/a?b?c", "/%41", "/a b", "/é",
		"/a!b", "/a;b=c", "//host/x", "/a\x00", "/a?\x7f", "/a#frag", "/%zz", "/a/../b", "/*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !strings.HasPrefix(p, "/") {
			return
		}
		var got url.URL
		ok := parseRequestPath(p, &got)
		want, err := url.ParseRequestURI(p)
		wantOK := err == nil && want.Host == "" && want.Scheme == ""
		if ok != wantOK {
			t.Fatalf("%q: valid %v, net/url says %v (%v)", p, ok, wantOK, err)
		}
		if ok && !reflect.DeepEqual(got, *want) {
			t.Fatalf("%q: parsed %#v, net/url %#v", p, got, *want)
		}
	})
}

// FuzzReadDataFrame checks the fast path's frame reader against a plain
// reading of RFC 6455's framing: a whole masked data frame within the limit
// is read and unmasked, and anything else is left unread.
func FuzzReadDataFrame(f *testing.F) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for _, s := range [][]byte{
		wsFrame(0x81, true, key, []byte(`{"type":"ping","id":1}`), lenShortest),
		wsFrame(0x82, true, key, bytes.Repeat([]byte{7}, 200), lenShortest),
		wsFrame(0x81, true, key, []byte("x"), len64),
		wsFrame(0x01, true, key, []byte("frag"), lenShortest),
		wsFrame(0x89, true, key, []byte("ping"), lenShortest),
		wsFrame(0xc1, true, key, []byte("rsv1"), lenShortest),
		wsFrame(0x81, false, key, []byte("unmasked"), lenShortest),
		{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
		{0x81, 0xfe, 0xff},
	} {
		f.Add(s, uint16(100))
	}
	f.Fuzz(func(t *testing.T, stream []byte, limit uint16) {
		payload, size, fast, whole := plainFrame(stream, int64(limit))
		c := fastReader(stream)
		var scratch bytes.Buffer
		data, ok, err := c.readDataFrame(&scratch, int64(limit))
		rest, _ := io.ReadAll(c.br)
		switch {
		case !fast:
			if ok {
				t.Fatalf("read %q on the fast path", data)
			}
			if !bytes.Equal(rest, stream) {
				t.Fatal("a frame left to coder/websocket was consumed")
			}
		case !whole:
			if !ok || err == nil {
				t.Fatalf("a truncated frame: ok %v, err %v", ok, err)
			}
		default:
			if !ok || err != nil || !bytes.Equal(data, payload) {
				t.Fatalf("got %v %v %q, want %q", ok, err, data, payload)
			}
			if !bytes.Equal(rest, stream[size:]) {
				t.Fatal("the frame's end was not where it is")
			}
		}
	})
}

// plainFrame reads the frame at the start of b byte by byte: whether it is
// for the fast path (a masked, unfragmented text or binary frame whose
// header is all there, within limit), and if so whether it is whole, its
// unmasked payload and its size.
func plainFrame(b []byte, limit int64) (payload []byte, size int, fast, whole bool) {
	if len(b) < 2 {
		return nil, 0, false, false
	}
	fin, rsv, op, masked := b[0]>>7, (b[0]>>4)&7, b[0]&15, b[1]>>7
	if fin != 1 || rsv != 0 || (op != 1 && op != 2) || masked != 1 {
		return nil, 0, false, false
	}
	var n uint64
	i := 2
	switch l := b[1] & 127; l {
	case 126:
		if len(b) < 4 {
			return nil, 0, false, false
		}
		n, i = uint64(b[2])<<8|uint64(b[3]), 4
	case 127:
		if len(b) < 10 {
			return nil, 0, false, false
		}
		for _, x := range b[2:10] {
			n = n<<8 | uint64(x)
		}
		i = 10
		if n >= 1<<63 {
			return nil, 0, false, false
		}
	default:
		n = uint64(l)
	}
	if len(b) < i+4 || n > uint64(limit) {
		return nil, 0, false, false
	}
	mask := b[i : i+4]
	i += 4
	if uint64(len(b)-i) < n {
		return nil, 0, true, false
	}
	payload = make([]byte, n)
	for j := range payload {
		payload[j] = b[i+j] ^ mask[j%4]
	}
	return payload, i + int(n), true, true
}
