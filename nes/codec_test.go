package nes

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/nes-go/nes/protocol"
)

func dialProtocol(t *testing.T, url string, subprotocols ...string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: subprotocols})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func writeMsgpack(t *testing.T, c *websocket.Conn, v map[string]any) {
	t.Helper()
	b, err := msgpack.Marshal(v)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, c.Write(ctx, websocket.MessageBinary, b))
}

// readMsgpack returns the next non-ping message as a map.
func readMsgpack(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		typ, b, err := c.Read(ctx)
		cancel()
		must(t, err)
		if typ != websocket.MessageBinary {
			t.Fatalf("frame type %v, want binary: %q", typ, b)
		}
		var m map[string]any
		must(t, msgpack.Unmarshal(b, &m))
		if m["type"] != "ping" {
			return m
		}
	}
}

func TestMessagePackNegotiated(t *testing.T) {
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		must(t, s.Subscription("/rooms/{room}", SubscriptionOptions{}))
	})
	mp := dialProtocol(t, ts.url, protocol.MsgpackSubprotocol)
	if got := mp.Subprotocol(); got != protocol.MsgpackSubprotocol {
		t.Fatalf("negotiated %q", got)
	}
	writeMsgpack(t, mp, map[string]any{"type": "hello", "version": "2", "subs": []string{"/rooms/lobby"}, "id": 1})
	if m := readMsgpack(t, mp); m["type"] != "hello" || m["socket"] == "" || m["heartbeat"] != false {
		t.Fatalf("hello reply %v", m)
	}
	writeMsgpack(t, mp, map[string]any{"type": "bogus", "id": 2})
	if m := readMsgpack(t, mp); fmt.Sprint(m["statusCode"]) != "400" || m["type"] != "bogus" {
		t.Fatalf("error reply %v", m)
	}

	// A JSON client in the same room: each gets the publication in its own
	// encoding.
	js := dial(t, ts.url, nil)
	js.hello("/rooms/lobby")
	must(t, ts.Publish(context.Background(), "/rooms/lobby", map[string]any{"text": "héllo", "n": 3}))
	js.expect(`{"type":"pub","path":"/rooms/lobby","message":{"n":3,"text":"héllo"}}`)
	m := readMsgpack(t, mp)
	msg, _ := m["message"].(map[string]any)
	if m["type"] != "pub" || m["path"] != "/rooms/lobby" || msg["text"] != "héllo" {
		t.Fatalf("msgpack pub %v", m)
	}
}

func TestUnknownSubprotocolFallsBackToJSON(t *testing.T) {
	ts := newTestServer(t, quietOptions(), nil)
	c := dialProtocol(t, ts.url, "nes.v9.cbor")
	if got := c.Subprotocol(); got != "" {
		t.Fatalf("negotiated %q", got)
	}
	raw := &rawClient{t: t, conn: c}
	raw.hello()
}

func TestPublicationEncodedOncePerCodec(t *testing.T) {
	srv, err := New(quietOptions())
	must(t, err)
	f := frameCache{srv: srv, msg: &protocol.Pub{Path: "/a", Message: []byte(`{"x":1}`)}}
	a, b := f.frame(0), f.frame(0)
	if &a[0] != &b[0] {
		t.Fatal("the JSON frame was encoded twice")
	}
	c, d := f.frame(1), f.frame(1)
	if &c[0] != &d[0] || &a[0] == &c[0] {
		t.Fatal("the MessagePack frame was encoded twice, or shares the JSON bytes")
	}
}
