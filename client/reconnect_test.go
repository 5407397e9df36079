package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"

	"github.com/nes-go/nes/auth"
	"github.com/nes-go/nes/nes"
)

func TestReconnectResubscribes(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := subServer(t)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, fastReconnect)
		rec.wait(t, "connect")
		_, err := c.Subscribe(ctx5(t), "/news", func(msg json.RawMessage, _ Flags) { rec.add("news %s", msg) })
		must(t, err)
		first := c.ID()
		ts.disconnectAll()
		rec.wait(t, "disconnect will=true requested=false")
		rec.wait(t, "connect")
		if c.ID() == first || c.ID() == "" {
			t.Fatalf("socket id %q after reconnect (was %q)", c.ID(), first)
		}
		must(t, ts.Publish(ctx5(t), "/news", "after reconnect"))
		if e := rec.wait(t, "news"); e != `news "after reconnect"` {
			t.Fatal(e)
		}
		if _, err := c.Request(ctx5(t), Request{Path: "/hello"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestServerRestart(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		addr := ln.Addr().String()
		setup := func(s *nes.Server, r chi.Router) {
			routes(s, r)
			must(t, s.Subscription("/news", nes.SubscriptionOptions{}))
		}
		ts := newServerOn(t, ln, nes.Options{}, setup)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, &ConnectOptions{Delay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond})
		_, err = c.Subscribe(ctx5(t), "/news", func(msg json.RawMessage, _ Flags) { rec.add("news %s", msg) })
		must(t, err)
		ts.stop(t)
		rec.wait(t, "disconnect will=true")
		rec.wait(t, "error ws") // at least one failed attempt while down
		var ln2 net.Listener
		for i := 0; ; i++ {
			if ln2, err = net.Listen("tcp", addr); err == nil {
				break
			}
			if i > 100 {
				t.Fatalf("relisten: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		ts2 := newServerOn(t, ln2, nes.Options{}, setup)
		rec.wait(t, "connect")
		must(t, ts2.Publish(ctx5(t), "/news", "back"))
		if e := rec.wait(t, "news"); e != `news "back"` {
			t.Fatal(e)
		}
	})
}

func TestHeartbeatTimeout(t *testing.T) {
	// A server that says hello with a short heartbeat, then goes silent.
	url := rawServer(t, func(ctx context.Context, ws *websocket.Conn) {
		id, err := readHello(ctx, ws)
		if err != nil {
			return
		}
		ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","id":`+id+`,"heartbeat":{"interval":40,"timeout":20},"socket":"s"}`))
		drain(ctx, ws)
	})
	rec := newRecorder()
	c := newClient(t, url, rec.options(JSON))
	start := time.Now()
	connect(t, c, &ConnectOptions{Delay: time.Hour})
	if e := rec.wait(t, "error"); !strings.HasPrefix(e, "error timeout") || !strings.Contains(e, "heartbeat") {
		t.Fatal(e)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("heartbeat timeout after %v, before interval+timeout", d)
	}
	rec.wait(t, "heartbeat will=true")
	rec.wait(t, "disconnect will=true")
}

// The client answers the server's pings, so a nes server with a short
// heartbeat keeps it connected.
func TestHeartbeatPings(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := newServer(t, nes.Options{Heartbeat: nes.Heartbeat{Interval: 30 * time.Millisecond, Timeout: 20 * time.Millisecond}}, routes)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, nil)
		time.Sleep(300 * time.Millisecond)
		if _, err := c.Request(ctx5(t), Request{Path: "/hello"}); err != nil {
			t.Fatal(err)
		}
		for _, e := range rec.events() {
			if e != "connect" {
				t.Errorf("unexpected %s", e)
			}
		}
	})
}

func authServer(t *testing.T, typ nes.AuthType) *testServer {
	a := &nes.AuthOptions{Type: typ, Authenticate: customAuth}
	switch typ {
	case nes.AuthToken:
		a.Token = auth.TokenOptions{Keys: []auth.TokenKey{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}}, TTL: time.Hour}
	case nes.AuthCookie:
		a.CookieKeys = []auth.CookieKey{{Hash: make([]byte, 32), Block: make([]byte, 32)}}
	}
	return newServer(t, nes.Options{Auth: a}, func(s *nes.Server, r chi.Router) {
		routes(s, r)
		must(t, s.Subscription("/news", nes.SubscriptionOptions{}))
	})
}

func who(t *testing.T, c *Client) string {
	t.Helper()
	res, err := c.Request(ctx5(t), Request{Path: "/who"})
	must(t, err)
	return string(res.Payload)
}

func TestDirectAuth(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := authServer(t, nes.AuthDirect)
		c := newClient(t, ts.url, &Options{Encoding: enc})
		connect(t, c, &ConnectOptions{Auth: DirectAuth{Headers: map[string]string{"authorization": "Custom john"}}})
		if w := who(t, c); !strings.Contains(w, `"user":"john"`) {
			t.Fatalf("who: %s", w)
		}
		must(t, c.Reauthenticate(ctx5(t), DirectAuth{Headers: map[string]string{"authorization": "Custom ed"}}))
		if w := who(t, c); !strings.Contains(w, `"user":"ed"`) {
			t.Fatalf("who after reauth: %s", w)
		}

		bad := newClient(t, ts.url, &Options{Encoding: enc})
		err := bad.Connect(ctx5(t), &ConnectOptions{Auth: &DirectAuth{Headers: map[string]string{"authorization": "Custom nobody"}}})
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 401 || e.Message != "Bad credentials" {
			t.Fatalf("bad credentials: %v", err)
		}
		if err := bad.Connect(ctx5(t), nil); !errors.As(err, &e) || e.StatusCode != 401 {
			t.Fatalf("no credentials: %v", err)
		}
	})
}

func TestTokenAuth(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := authServer(t, nes.AuthToken)
		req, _ := http.NewRequest("GET", ts.hs.URL+"/nes/auth", nil)
		req.Header.Set("Authorization", "Custom ed")
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var tok struct{ Token string }
		must(t, json.Unmarshal(body, &tok))
		c := newClient(t, ts.url, &Options{Encoding: enc})
		connect(t, c, &ConnectOptions{Auth: tok.Token})
		if w := who(t, c); !strings.Contains(w, `"user":"ed"`) {
			t.Fatalf("who: %s", w)
		}
		bad := newClient(t, ts.url, &Options{Encoding: enc})
		var e *Error
		if err := bad.Connect(ctx5(t), &ConnectOptions{Auth: "forged"}); !errors.As(err, &e) || e.StatusCode != 401 {
			t.Fatalf("forged token: %v", err)
		}
	})
}

func TestAuthRejectionStopsReconnecting(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := authServer(t, nes.AuthDirect)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, &ConnectOptions{Auth: DirectAuth{Headers: map[string]string{"authorization": "Custom john"}},
			Delay: 5 * time.Millisecond})
		if !c.OverrideReconnectionAuth(DirectAuth{Headers: map[string]string{"authorization": "Custom nobody"}}) {
			t.Fatal("OverrideReconnectionAuth refused")
		}
		ts.disconnectAll()
		rec.wait(t, "disconnect will=true")
		if e := rec.wait(t, "error"); !strings.Contains(e, "server 401") {
			t.Fatal(e)
		}
		rec.wait(t, "disconnect will=false requested=false")
		time.Sleep(50 * time.Millisecond)
		if n := strings.Count(strings.Join(rec.events(), "\n"), "server 401: Bad credentials"); n != 1 {
			t.Fatalf("%d refused attempts, want 1", n)
		}
		if c.OverrideReconnectionAuth("x") {
			t.Fatal("OverrideReconnectionAuth after giving up")
		}
		// A new Connect works.
		connect(t, c, &ConnectOptions{Auth: DirectAuth{Headers: map[string]string{"authorization": "Custom ed"}}})
		if w := who(t, c); !strings.Contains(w, `"user":"ed"`) {
			t.Fatalf("who: %s", w)
		}
	})
}

func TestRetriesLimit(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := subServer(t)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, &ConnectOptions{Delay: time.Millisecond, MaxDelay: 2 * time.Millisecond, Retries: 3})
		ts.stop(t)
		rec.wait(t, "disconnect will=true")
		rec.wait(t, "disconnect will=false")
		if n := strings.Count(strings.Join(rec.events(), "\n"), "error ws"); n != 3 {
			t.Fatalf("%d failed attempts, want 3: %q", n, rec.events())
		}
	})
}

func TestNoReconnect(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := subServer(t)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, &ConnectOptions{NoReconnect: true})
		if c.OverrideReconnectionAuth("x") {
			t.Fatal("OverrideReconnectionAuth with NoReconnect")
		}
		ts.disconnectAll()
		rec.wait(t, "disconnect will=false requested=false")
		if _, err := c.Request(ctx5(t), Request{Path: "/hello"}); !errors.Is(err, ErrDisconnect) {
			t.Fatal(err)
		}
	})
}

func TestDisconnectInterruptsBackoff(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := subServer(t)
		rec := newRecorder()
		c := newClient(t, ts.url, rec.options(enc))
		connect(t, c, &ConnectOptions{Delay: time.Hour, MaxDelay: time.Hour})
		ts.disconnectAll()
		rec.wait(t, "disconnect will=true")
		start := time.Now()
		must(t, c.Disconnect(ctx5(t)))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Disconnect took %v", d)
		}
	})
}

func TestConnectErrors(t *testing.T) {
	ts := subServer(t)
	c := newClient(t, ts.url, nil)
	connect(t, c, nil)
	if err := c.Connect(ctx5(t), nil); !errors.Is(err, ErrUser) {
		t.Fatalf("second Connect: %v", err)
	}
	must(t, c.Disconnect(ctx5(t)))
	must(t, c.Disconnect(ctx5(t))) // idempotent
	connect(t, c, nil)             // again after Disconnect

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	down := newClient(t, "http://"+addr+"/nes", nil)
	if err := down.Connect(ctx5(t), nil); !errors.Is(err, ErrWS) {
		t.Fatalf("server down: %v", err)
	}
	// Not a websocket endpoint: the upgrade's status is kept.
	var e *Error
	notws := newClient(t, strings.Replace(ts.url, "/nes", "/hello", 1), nil)
	if err := notws.Connect(ctx5(t), nil); !errors.As(err, &e) || e.Type != TypeWS || e.StatusCode != 200 {
		t.Fatalf("not a websocket: %v", err)
	}
	// A server that never answers the hello.
	silent := rawServer(t, func(ctx context.Context, ws *websocket.Conn) { drain(ctx, ws) })
	sc := newClient(t, silent, nil)
	if err := sc.Connect(ctx5(t), &ConnectOptions{Timeout: 50 * time.Millisecond}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("hello timeout: %v", err)
	}
}

func TestGarbageFrames(t *testing.T) {
	url := rawServer(t, func(ctx context.Context, ws *websocket.Conn) {
		id, err := readHello(ctx, ws)
		if err != nil {
			return
		}
		w := func(s string) { ws.Write(ctx, websocket.MessageText, []byte(s)) }
		w(`{"type":"hello","id":` + id + `,"heartbeat":false,"socket":"s"}`)
		w(`{"type":"request","id":999,"statusCode":200,"payload":1}`) // unknown id
		w(`{not json`)
		w(`{"type":"bogus"}`)
		w(`+{"type":"upd`)
		w(`{"type":"update","message":"after incomplete"}`)
		w(`{"statusCode":500,"payload":{"error":"Internal Server Error","message":"boom"}}`)
		ws.Write(ctx, websocket.MessageBinary, []byte{0xff, 0x00})
		w(`{"type":"update","message":"still alive"}`)
		drain(ctx, ws)
	})
	rec := newRecorder()
	c := newClient(t, url, rec.options(JSON))
	connect(t, c, &ConnectOptions{NoReconnect: true})
	rec.wait(t, `update "still alive"`)
	want := []string{
		"connect",
		"error protocol nes client: protocol: Received response for unknown request 999",
		"error protocol",
		"error protocol",
		"error protocol nes client: protocol: Received an incomplete message",
		`update "after incomplete"`,
		"error server nes client: server 500: boom",
		"error protocol",
		`update "still alive"`,
	}
	got := rec.events()
	if len(got) != len(want) {
		t.Fatalf("events:\n%q\nwant\n%q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("event %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// Many reconnections, then Disconnect: TestMain's leak check fails the run
// if any goroutine of any connection is left.
func TestManyReconnects(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	ts := subServer(t)
	rec := newRecorder()
	c := newClient(t, ts.url, rec.options(JSON))
	_, err := c.Subscribe(ctx5(t), "/news", func(json.RawMessage, Flags) {})
	must(t, err)
	connect(t, c, &ConnectOptions{Delay: time.Microsecond, MaxDelay: time.Microsecond})
	rec.wait(t, "connect")
	for range n {
		ts.disconnectAll()
		rec.wait(t, "disconnect will=true")
		rec.wait(t, "connect")
	}
	if _, err := c.Request(ctx5(t), Request{Path: "/hello"}); err != nil {
		t.Fatal(err)
	}
	// And Connect/Disconnect cycles.
	for range n / 10 {
		must(t, c.Disconnect(ctx5(t)))
		connect(t, c, nil)
	}
}

func TestCookieAuth(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := authServer(t, nes.AuthCookie)
		req, _ := http.NewRequest("GET", ts.hs.URL+"/nes/auth", nil)
		req.Header.Set("Authorization", "Custom john")
		res, err := http.DefaultClient.Do(req)
		must(t, err)
		res.Body.Close()
		var cookie string
		for _, c := range res.Cookies() {
			if c.Name == "nes" {
				cookie = c.Name + "=" + c.Value
			}
		}
		if cookie == "" {
			t.Fatalf("no nes cookie in %v", res.Header)
		}
		c := newClient(t, ts.url, &Options{Encoding: enc, Header: http.Header{"Cookie": {cookie}}})
		connect(t, c, nil)
		if w := who(t, c); !strings.Contains(w, `"user":"john"`) {
			t.Fatalf("who: %s", w)
		}
		// The cookie already authenticates: an auth as well is refused.
		both := newClient(t, ts.url, &Options{Encoding: enc, Header: http.Header{"Cookie": {cookie}}})
		var e *Error
		if err := both.Connect(ctx5(t), &ConnectOptions{Auth: "x"}); !errors.As(err, &e) || e.StatusCode != 400 {
			t.Fatalf("cookie and auth: %v", err)
		}
	})
}

func TestFailedReauthenticateClosesTheSocket(t *testing.T) {
	forEachEncoding(t, func(t *testing.T, enc Encoding) {
		ts := authServer(t, nes.AuthDirect)
		disconnected := make(chan DisconnectInfo, 4)
		c := newClient(t, ts.url, &Options{Encoding: enc, OnDisconnect: func(will bool, info DisconnectInfo) { disconnected <- info }})
		connect(t, c, &ConnectOptions{Auth: DirectAuth{Headers: map[string]string{"authorization": "Custom john"}}, NoReconnect: true})
		err := c.Reauthenticate(ctx5(t), DirectAuth{Headers: map[string]string{"authorization": "Custom nobody"}})
		var e *Error
		if !errors.As(err, &e) || e.Type != TypeServer || e.StatusCode != 401 || e.Message != "Bad credentials" {
			t.Fatalf("reauthenticate: %v", err)
		}
		select {
		case info := <-disconnected:
			if info.Code != int(nes.CloseAuthRevoked) {
				t.Fatalf("close code %d", info.Code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not close the socket after a failed reauth")
		}
	})
}
