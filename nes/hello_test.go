package nes

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

func TestHelloReply(t *testing.T) {
	ts := newTestServer(t, Options{Heartbeat: Heartbeat{Interval: time.Second, Timeout: 500 * time.Millisecond}}, nil)
	c := dial(t, ts.url, nil)
	c.send(`{"type":"hello","version":"2","id":1}`)
	got := c.recv()
	if !strings.HasPrefix(got, `{"type":"hello","id":1,"heartbeat":{"interval":1000,"timeout":500},"socket":"`) {
		t.Fatalf("hello reply %s", got)
	}
}

func TestHelloHeartbeatDisabled(t *testing.T) {
	ts := newTestServer(t, quietOptions(), nil)
	c := dial(t, ts.url, nil)
	c.send(`{"type":"hello","version":"2","id":"abc"}`)
	if got := c.recv(); !strings.HasPrefix(got, `{"type":"hello","id":"abc","heartbeat":false,"socket":"`) {
		t.Fatalf("hello reply %s", got)
	}
}

func TestHelloErrors(t *testing.T) {
	ts := newTestServer(t, quietOptions(), nil)
	c := dial(t, ts.url, nil)
	c.roundTrip(`{"type":"hello","version":"1","id":"abc"}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Incorrect protocol version (expected 2 but received 1)"},"type":"hello","id":"abc"}`)
	c.roundTrip(`{"type":"hello","id":2}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Incorrect protocol version (expected 2 but received none)"},"type":"hello","id":2}`)
	// A version failure does not initialize the socket: a corrected hello works.
	c.hello()
	c.roundTrip(`{"type":"hello","version":"2","id":4}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection already initialized"},"type":"hello","id":4}`)
}

func TestBeforeHello(t *testing.T) {
	ts := newTestServer(t, quietOptions(), nil)
	c := dial(t, ts.url, nil)
	c.send(`{"type":"ping","id":2}`) // accepted, no reply
	c.roundTrip(`{"type":"request","method":"GET","path":"/x","id":1}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection is not initialized"},"type":"request","id":1}`)
	c.roundTrip(`{"type":"request","id":3}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection is not initialized"},"type":"request","id":3}`)
	c.roundTrip(`{"type":"bogus","id":4}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection is not initialized"},"type":"bogus","id":4}`)
	c.roundTrip(`{"type":"sub","id":5}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection is not initialized"},"type":"sub","id":5}`)
}

func TestProtocolErrors(t *testing.T) {
	ts := newTestServer(t, quietOptions(), nil)
	c := dial(t, ts.url, nil)
	c.roundTrip(`not json`, `{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot parse message"}}`)
	c.roundTrip(`{"id":1}`, `{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot parse message"},"id":1}`)
	c.roundTrip(`{"type":"hello","id":0,"version":"2"}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Message missing id"},"type":"hello","id":0}`)
	c.hello()
	c.roundTrip(`{"type":"bogus","id":3}`, `{"statusCode":400,"payload":{"error":"Bad Request","message":"Unknown message type"},"type":"bogus","id":3}`)
	c.roundTrip(`{"type":"request","path":"/x","id":4}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Message missing method"},"type":"request","id":4}`)
	c.roundTrip(`{"type":"request","method":"GET","id":5}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Message missing path"},"type":"request","id":5}`)
	// The socket keeps serving after errors.
	c.roundTrip(`{"type":"unsub","path":"/never","id":6}`, `{"type":"unsub","id":6}`)
}

func TestSubWithoutPathDoesNotCrash(t *testing.T) {
	ts := newTestServer(t, quietOptions(), nil)
	c := dial(t, ts.url, nil)
	c.hello()
	c.send(`{"type":"sub","id":2}`)
	if got := c.recv(); !strings.HasPrefix(got, `{"statusCode":400,`) || !strings.Contains(got, `"type":"sub","id":2`) {
		t.Fatalf("reply %s", got)
	}
	c.roundTrip(`{"type":"unsub","path":"/a","id":3}`, `{"type":"unsub","id":3}`)
}

func TestHelloSubsFailureCarriesPath(t *testing.T) {
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		if err := s.Subscription("/news", SubscriptionOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	c := dial(t, ts.url, nil)
	c.roundTrip(`{"type":"hello","version":"2","subs":["/news","/nothing"],"id":1}`,
		`{"statusCode":404,"payload":{"error":"Not Found","message":"Subscription not found"},"type":"hello","id":1,"path":"/nothing"}`)
	// The failed hello leaves no usable socket: nothing else is served and
	// a new hello is refused.
	c.roundTrip(`{"type":"sub","path":"/news","id":2}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection is not initialized"},"type":"sub","id":2}`)
	c.roundTrip(`{"type":"hello","version":"2","id":3}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection already initialized"},"type":"hello","id":3}`)
	// Earlier entries stay subscribed and the socket stays open until the
	// client closes it, as in nes, so publications still reach it.
	waitFor(t, "subscription", func() bool {
		ts.subsMu.RLock()
		defer ts.subsMu.RUnlock()
		return ts.index["/news"] != nil
	})
	if err := ts.Publish(context.Background(), "/news", "still here"); err != nil {
		t.Fatal(err)
	}
	c.expect(`{"type":"pub","path":"/news","message":"still here"}`)
}

func TestHelloNonStringSubs(t *testing.T) {
	ts := newTestServer(t, quietOptions(), nil)
	c := dial(t, ts.url, nil)
	c.send(`{"type":"hello","version":"2","subs":[5],"id":1}`)
	if got := c.recv(); !strings.HasPrefix(got, `{"statusCode":400,`) {
		t.Fatalf("reply %s", got)
	}
	// The decoding failure did not initialize the socket.
	c.hello()
}

func TestOnConnectionError(t *testing.T) {
	var disconnected atomic.Int32
	ts := newTestServer(t, Options{
		Heartbeat: Heartbeat{Disabled: true},
		OnConnection: func(ctx context.Context, s *Socket) error {
			if s.App() == nil {
				return NewError(http.StatusForbidden, "go away")
			}
			return nil
		},
		OnDisconnection: func(*Socket) { disconnected.Add(1) },
	}, nil)
	c := dial(t, ts.url, nil)
	c.roundTrip(`{"type":"hello","version":"2","id":1}`,
		`{"statusCode":403,"payload":{"error":"Forbidden","message":"go away"},"type":"hello","id":1}`)
	c.conn.CloseNow()
	waitFor(t, "socket gone", func() bool { return ts.Stats().Connections == 0 })
	if disconnected.Load() != 0 {
		t.Fatal("OnDisconnection ran for a socket whose OnConnection failed")
	}
}

func TestOnConnectionPlainErrorIsGeneric(t *testing.T) {
	ts := newTestServer(t, Options{
		Heartbeat:    Heartbeat{Disabled: true},
		OnConnection: func(context.Context, *Socket) error { return errors.New("database password is hunter2") },
	}, nil)
	c := dial(t, ts.url, nil)
	c.roundTrip(`{"type":"hello","version":"2","id":1}`,
		`{"statusCode":500,"payload":{"error":"Internal Server Error","message":"An internal server error occurred"},"type":"hello","id":1}`)
}

func TestOnConnectionPanicIsContained(t *testing.T) {
	ts := newTestServer(t, Options{
		Heartbeat:    Heartbeat{Disabled: true},
		OnConnection: func(context.Context, *Socket) error { panic("boom") },
	}, nil)
	c := dial(t, ts.url, nil)
	c.roundTrip(`{"type":"hello","version":"2","id":1}`,
		`{"statusCode":500,"payload":{"error":"Internal Server Error","message":"An internal server error occurred"},"type":"hello","id":1}`)
}

func TestHelloTimeout(t *testing.T) {
	ts := newTestServer(t, Options{Heartbeat: Heartbeat{Disabled: true}, HelloTimeout: 100 * time.Millisecond}, nil)
	c := dial(t, ts.url, nil)
	start := time.Now()
	if code := c.closed(); code != CloseHelloTimeout {
		t.Fatalf("close code %d, want %d", code, CloseHelloTimeout)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
	// A socket that says hello in time stays.
	c2 := dial(t, ts.url, nil)
	c2.hello()
	time.Sleep(200 * time.Millisecond)
	c2.roundTrip(`{"type":"unsub","path":"/a","id":2}`, `{"type":"unsub","id":2}`)
}

func TestAuthIgnoredWithoutAuth(t *testing.T) {
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		r.Get("/who", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"socket":true}`))
		})
	})
	c := dial(t, ts.url, nil)
	c.send(`{"type":"hello","version":"2","auth":"token","id":1}`)
	if got := c.recv(); !strings.HasPrefix(got, `{"type":"hello","id":1,`) {
		t.Fatalf("reply %s", got)
	}
	c.roundTrip(`{"type":"reauth","auth":{"headers":{"authorization":"Custom john"}},"id":2}`, `{"type":"reauth","id":2}`)
	c.roundTrip(`{"type":"request","method":"GET","path":"/who","id":3}`, `{"type":"request","id":3,"statusCode":200,"payload":{"socket":true}}`)
}
