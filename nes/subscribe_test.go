package nes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
)

type hookLog struct {
	mu    sync.Mutex
	calls []string
}

func (h *hookLog) add(format string, args ...any) {
	h.mu.Lock()
	h.calls = append(h.calls, fmt.Sprintf(format, args...))
	h.mu.Unlock()
}

func (h *hookLog) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

func TestSubscribeAndPublish(t *testing.T) {
	var log hookLog
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		must(t, s.Subscription("/items/{id}", SubscriptionOptions{
			OnSubscribe: func(ctx context.Context, sock *Socket, path string, params map[string]string) error {
				log.add("sub %s %s", path, params["id"])
				if params["id"] == "forbidden" {
					return NewError(http.StatusForbidden, "not this one")
				}
				return nil
			},
			OnUnsubscribe: func(ctx context.Context, sock *Socket, path string, params map[string]string) {
				log.add("unsub %s %s", path, params["id"])
			},
		}))
	})
	c := dial(t, ts.url, nil)
	c.hello()
	c.roundTrip(`{"type":"sub","path":"/items/5","id":2}`, `{"type":"sub","id":2,"path":"/items/5"}`)
	c.roundTrip(`{"type":"sub","path":"/items/5","id":3}`, `{"type":"sub","id":3,"path":"/items/5"}`) // no-op
	c.roundTrip(`{"type":"sub","path":"/items/5?x=1","id":4}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Subscription path cannot contain query"},"type":"sub","id":4}`)
	c.roundTrip(`{"type":"sub","path":"/nothing","id":5}`,
		`{"statusCode":404,"payload":{"error":"Not Found","message":"Subscription not found"},"type":"sub","id":5}`)
	c.roundTrip(`{"type":"sub","path":"/items/forbidden","id":6}`,
		`{"statusCode":403,"payload":{"error":"Forbidden","message":"not this one"},"type":"sub","id":6}`)

	ctx := context.Background()
	must(t, ts.Publish(ctx, "/items/6", map[string]string{"not": "me"}))
	must(t, ts.Publish(ctx, "/nothing", "undeclared")) // no-op
	must(t, ts.Publish(ctx, "/items/5", map[string]string{"a": "b"}))
	c.expect(`{"type":"pub","path":"/items/5","message":{"a":"b"}}`)

	c.roundTrip(`{"type":"unsub","path":"/items/5","id":7}`, `{"type":"unsub","id":7}`)
	must(t, ts.Publish(ctx, "/items/5", "gone"))
	c.roundTrip(`{"type":"unsub","path":"/items/5","id":8}`, `{"type":"unsub","id":8}`) // nothing in between

	want := []string{"sub /items/5 5", "sub /items/forbidden forbidden", "unsub /items/5 5"}
	if got := log.get(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("hooks %q, want %q", got, want)
	}
}

func TestPublishInvalidPath(t *testing.T) {
	s, err := New(quietOptions())
	must(t, err)
	for _, p := range []string{"", "items", "/a?b=1"} {
		if err := s.Publish(context.Background(), p, 1); err == nil || !strings.Contains(err.Error(), ErrInvalidPath.Error()) {
			t.Fatalf("Publish(%q) = %v", p, err)
		}
	}
	if err := s.Publish(context.Background(), "/a", func() {}); err == nil {
		t.Fatal("Publish of an unencodable message succeeded")
	}
}

func TestFilterSkipAndOverride(t *testing.T) {
	opts := quietOptions()
	opts.OnMessage = func(ctx context.Context, s *Socket, msg json.RawMessage) (any, error) {
		var kind string
		if err := json.Unmarshal(msg, &kind); err != nil {
			return nil, NewError(http.StatusBadRequest, "want a string")
		}
		s.SetApp(kind)
		return "ok", nil
	}
	ts := newTestServer(t, opts, func(s *Server, r chi.Router) {
		must(t, s.Subscription("/news/{topic}", SubscriptionOptions{
			Filter: func(ctx context.Context, path string, msg json.RawMessage, info FilterInfo) (bool, any, error) {
				switch info.Socket.App() {
				case "skip":
					return false, nil, nil
				case "override":
					return true, map[string]any{"overridden": string(msg), "topic": info.Params["topic"], "internal": info.Internal}, nil
				case "fail":
					return true, nil, fmt.Errorf("filter broke")
				case "panic":
					panic("filter panicked")
				case "badjson":
					return true, panickyJSON{}, nil
				}
				return true, nil, nil
			},
		}))
	})
	// badjson first: its override's JSON panics, which must not keep the
	// publication from the sockets after it.
	kinds := []string{"badjson", "plain", "skip", "override", "fail", "panic"}
	clients := map[string]*rawClient{}
	for _, kind := range kinds {
		c := dial(t, ts.url, nil)
		c.hello()
		c.roundTrip(`{"type":"message","message":"`+kind+`","id":2}`, `{"type":"message","id":2,"message":"ok"}`)
		c.roundTrip(`{"type":"sub","path":"/news/go","id":3}`, `{"type":"sub","id":3,"path":"/news/go"}`)
		clients[kind] = c
	}
	must(t, ts.Publish(context.Background(), "/news/go", "hello", Internal(map[string]int{"n": 1})))
	must(t, ts.Publish(context.Background(), "/news/go", "second"))
	clients["plain"].expect(`{"type":"pub","path":"/news/go","message":"hello"}`)
	clients["plain"].expect(`{"type":"pub","path":"/news/go","message":"second"}`)
	clients["override"].expect(`{"type":"pub","path":"/news/go","message":{"internal":{"n":1},"overridden":"\"hello\"","topic":"go"}}`)
	clients["override"].expect(`{"type":"pub","path":"/news/go","message":{"internal":null,"overridden":"\"second\"","topic":"go"}}`)
	// Skipped, failed and panicking filters deliver nothing: the next frame
	// each of those sockets gets is the reply to a later message.
	for _, kind := range []string{"skip", "fail", "panic", "badjson"} {
		clients[kind].roundTrip(`{"type":"unsub","path":"/x","id":4}`, `{"type":"unsub","id":4}`)
	}
}

// panickyJSON is a filter override whose encoding panics.
type panickyJSON struct{}

func (panickyJSON) MarshalJSON() ([]byte, error) { panic("MarshalJSON panicked") }

func TestRevoke(t *testing.T) {
	var log hookLog
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		must(t, s.Subscription("/items/{id}", SubscriptionOptions{
			OnUnsubscribe: func(ctx context.Context, sock *Socket, path string, params map[string]string) {
				log.add("unsub %s", path)
			},
		}))
	})
	c := dial(t, ts.url, nil)
	c.hello("/items/7", "/items/8")
	var sock *Socket
	ts.EachSocket(func(s *Socket) bool { sock = s; return false })
	if got := strings.Join(sock.Subscriptions(), ","); got != "/items/7,/items/8" {
		t.Fatalf("subscriptions %s", got)
	}
	ctx := context.Background()
	must(t, sock.Revoke(ctx, "/items/7", map[string]string{"reason": "bye"}))
	c.expect(`{"type":"revoke","path":"/items/7","message":{"reason":"bye"}}`)
	must(t, sock.Revoke(ctx, "/items/8", nil))
	c.expect(`{"type":"revoke","path":"/items/8"}`)
	must(t, ts.Publish(ctx, "/items/7", "after revoke"))
	must(t, sock.Send(ctx, "direct update"))
	c.expect(`{"type":"update","message":"direct update"}`)
	must(t, sock.Publish(ctx, "/anything", "unchecked"))
	c.expect(`{"type":"pub","path":"/anything","message":"unchecked"}`)
	if got := strings.Join(log.get(), ","); got != "unsub /items/7,unsub /items/8" {
		t.Fatalf("hooks %s", got)
	}
}

func TestUnsubscribeOnDisconnect(t *testing.T) {
	var log hookLog
	done := make(chan struct{})
	ts := newTestServer(t, Options{
		Heartbeat:       Heartbeat{Disabled: true},
		OnConnection:    func(ctx context.Context, s *Socket) error { log.add("connect"); return nil },
		OnDisconnection: func(s *Socket) { log.add("disconnect"); close(done) },
	}, func(s *Server, r chi.Router) {
		must(t, s.Subscription("/a", SubscriptionOptions{
			OnUnsubscribe: func(ctx context.Context, sock *Socket, path string, params map[string]string) {
				log.add("unsub %s ctxdone=%v", path, ctx.Err() != nil)
			},
		}))
	})
	c := dial(t, ts.url, nil)
	c.hello("/a")
	c.conn.CloseNow()
	<-done
	if got := strings.Join(log.get(), ","); got != "connect,unsub /a ctxdone=true,disconnect" {
		t.Fatalf("hooks %s", got)
	}
	waitFor(t, "index cleaned", func() bool {
		ts.subsMu.RLock()
		defer ts.subsMu.RUnlock()
		return len(ts.index) == 0
	})
}

func TestBroadcastAndEachSocket(t *testing.T) {
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		must(t, s.Subscription("/a", SubscriptionOptions{}))
	})
	a := dial(t, ts.url, nil)
	a.hello("/a")
	b := dial(t, ts.url, nil)
	b.hello()
	pending := dial(t, ts.url, nil) // no hello: not part of broadcasts
	must(t, ts.Broadcast(context.Background(), map[string]string{"all": "clients"}))
	a.expect(`{"type":"update","message":{"all":"clients"}}`)
	b.expect(`{"type":"update","message":{"all":"clients"}}`)
	pending.hello()
	pending.roundTrip(`{"type":"unsub","path":"/x","id":2}`, `{"type":"unsub","id":2}`)

	count := func(opts ...EachOption) int {
		n := 0
		ts.EachSocket(func(*Socket) bool { n++; return true }, opts...)
		return n
	}
	if n := count(); n != 3 {
		t.Fatalf("EachSocket saw %d sockets", n)
	}
	if n := count(OnSubscription("/a")); n != 1 {
		t.Fatalf("EachSocket(/a) saw %d sockets", n)
	}
	if n := count(OnSubscription("/b")); n != 0 {
		t.Fatalf("EachSocket(/b) saw %d sockets", n)
	}
	stops := 0
	ts.EachSocket(func(*Socket) bool { stops++; return false })
	if stops != 1 {
		t.Fatalf("EachSocket went on after false: %d calls", stops)
	}
}

func TestSubscriptionConflict(t *testing.T) {
	s, err := New(quietOptions())
	must(t, err)
	must(t, s.Subscription("/rooms/{room}", SubscriptionOptions{}))
	err = s.Subscription("/rooms/{name}", SubscriptionOptions{})
	if err == nil || !strings.Contains(err.Error(), "/rooms/{room}") || !strings.Contains(err.Error(), "/rooms/{name}") {
		t.Fatalf("conflict error %v should name both patterns", err)
	}
	if err := s.Subscription("rooms", SubscriptionOptions{}); err == nil {
		t.Fatal("a pattern without a leading slash was accepted")
	}
}

func TestHooksMayCallServer(t *testing.T) {
	// Hooks that publish, revoke and disconnect must not deadlock.
	opts := quietOptions()
	opts.OnMessage = func(ctx context.Context, s *Socket, msg json.RawMessage) (any, error) {
		s.Disconnect()
		return "bye", nil
	}
	ts := newTestServer(t, opts, func(s *Server, r chi.Router) {
		must(t, s.Subscription("/echo", SubscriptionOptions{
			OnSubscribe: func(ctx context.Context, sock *Socket, path string, params map[string]string) error {
				return s.Publish(ctx, "/other", "from hook")
			},
		}))
		must(t, s.Subscription("/other", SubscriptionOptions{
			OnSubscribe: func(ctx context.Context, sock *Socket, path string, params map[string]string) error {
				return sock.Revoke(ctx, "/echo", "revoked in hook")
			},
		}))
	})
	c := dial(t, ts.url, nil)
	c.hello()
	c.send(`{"type":"sub","path":"/other","id":2}`)
	c.expect(`{"type":"revoke","path":"/echo","message":"revoked in hook"}`)
	c.expect(`{"type":"sub","id":2,"path":"/other"}`)
	c.send(`{"type":"sub","path":"/echo","id":3}`)
	c.expect(`{"type":"pub","path":"/other","message":"from hook"}`)
	c.expect(`{"type":"sub","id":3,"path":"/echo"}`)
	// Disconnect inside OnMessage closes the socket with 1000 (the reply to
	// the message being handled is refused: the socket is closing).
	c.send(`{"type":"message","message":"x","id":4}`)
	if code := c.closed(); code != 1000 {
		t.Fatalf("close code %d", code)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// pathSubscribers keeps its slice and positions in step through adds and
// removes in any order, and shrinks once mostly empty.
func TestPathSubscribersSet(t *testing.T) {
	ps := &pathSubscribers{at: make(map[*Socket]int)}
	socks := make([]*Socket, 300)
	for i := range socks {
		socks[i] = &Socket{}
		ps.add(socks[i])
	}
	ps.add(socks[0]) // twice: once
	check := func(want map[*Socket]bool) {
		t.Helper()
		if len(ps.sockets) != len(want) || len(ps.at) != len(want) {
			t.Fatalf("%d sockets, %d positions, want %d", len(ps.sockets), len(ps.at), len(want))
		}
		for i, s := range ps.sockets {
			if !want[s] || ps.at[s] != i {
				t.Fatalf("socket at %d: wanted %v, position %d", i, want[s], ps.at[s])
			}
		}
	}
	want := make(map[*Socket]bool)
	for _, s := range socks {
		want[s] = true
	}
	check(want)
	for i := 0; i < len(socks); i += 3 { // from the front, the middle, the end
		ps.remove(socks[i])
		delete(want, socks[i])
	}
	ps.remove(socks[0]) // not there: nothing
	check(want)
	for i := len(socks) - 1; i >= 0; i-- {
		if i%3 != 0 && i > 10 {
			ps.remove(socks[i])
			delete(want, socks[i])
		}
	}
	check(want)
	if cap(ps.sockets) > 64 {
		t.Fatalf("capacity %d for %d sockets: not shrunk", cap(ps.sockets), len(ps.sockets))
	}
}
