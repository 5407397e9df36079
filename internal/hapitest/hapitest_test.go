package hapitest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nes-go/nes/internal/hapitest"
	"github.com/nes-go/nes/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// raw is a plain websocket to the hapi server: frames in, frames out.
type raw struct {
	t    testing.TB
	conn *websocket.Conn
}

func dial(t testing.TB, url string, header http.Header) *raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &raw{t: t, conn: c}
}

func (r *raw) send(frame string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		r.t.Fatalf("send %s: %v", frame, err)
	}
}

// next reads the next frame that is not a heartbeat ping.
func (r *raw) next() string {
	r.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		typ, b, err := r.conn.Read(ctx)
		cancel()
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		if typ != websocket.MessageText {
			r.t.Fatalf("binary frame %q", b)
		}
		if string(b) != `{"type":"ping"}` {
			return string(b)
		}
	}
}

// roundTrip sends a frame and returns the next one.
func (r *raw) roundTrip(frame string) string {
	r.t.Helper()
	r.send(frame)
	return r.next()
}

func (r *raw) expect(frame, want string) {
	r.t.Helper()
	if got := r.roundTrip(frame); got != want {
		r.t.Errorf("C>S %s\n got S>C %s\nwant S>C %s", frame, got, want)
	}
}

func (r *raw) expectClosed() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := r.conn.Read(ctx)
		if err == nil {
			if string(b) == `{"type":"ping"}` {
				continue
			}
			r.t.Fatalf("got %s, want a close", b)
		}
		// nes never sends a close code: 1005 (no status) or a dropped connection.
		if ctx.Err() != nil {
			r.t.Fatalf("socket not closed: %v", err)
		}
		return
	}
}

func match(t testing.TB, pattern, got string) {
	t.Helper()
	if !regexp.MustCompile(pattern).MatchString(got) {
		t.Errorf("frame %s\ndoes not match %s", got, pattern)
	}
}

const socketID = `"socket":"\d+:[^":]+:\d+:[0-9a-z]+:\d{5}"`

// §2.1 and §2.2 of PROTOCOL.md: hello and request replies, byte for byte.
func TestHelloAndRequests(t *testing.T) {
	srv := hapitest.Start(t, hapitest.Config{
		Heartbeat:     &hapitest.Heartbeat{Interval: 1000, Timeout: 500},
		Subscriptions: []hapitest.Subscription{{Path: "/news"}},
		OnMessage:     "script",
	})
	if !strings.HasPrefix(srv.URL, "ws://127.0.0.1:") || !strings.HasPrefix(srv.HTTPURL, "http://127.0.0.1:") {
		t.Fatalf("URL %q HTTPURL %q", srv.URL, srv.HTTPURL)
	}
	c := dial(t, srv.URL, nil)
	match(t, `^\{"type":"hello","id":1,"heartbeat":\{"interval":1000,"timeout":500\},`+socketID+`\}$`,
		c.roundTrip(`{"type":"hello","version":"2","subs":["/news"],"id":1}`))

	c.expect(`{"type":"request","method":"GET","path":"/hello","id":2}`,
		`{"type":"request","id":2,"statusCode":200,"payload":{"greeting":"hi"}}`)
	c.expect(`{"type":"request","method":"GET","path":"/text","id":4}`,
		`{"type":"request","id":4,"statusCode":200,"payload":"plain text"}`)
	c.expect(`{"type":"request","method":"GET","path":"/jsonstring","id":5}`,
		`{"type":"request","id":5,"statusCode":200,"payload":{"raw":true}}`)
	c.expect(`{"type":"request","method":"GET","path":"/null","id":6}`,
		`{"type":"request","id":6,"statusCode":204,"payload":null}`)
	c.expect(`{"type":"request","method":"GET","path":"hello-route","id":7}`,
		`{"type":"request","id":7,"statusCode":200,"payload":{"greeting":"hi"}}`)
	c.expect(`{"type":"request","method":"GET","path":"/forbidden","id":8}`,
		`{"type":"request","id":8,"statusCode":403,"payload":{"statusCode":403,"error":"Forbidden","message":"Nope"}}`)
	c.expect(`{"type":"request","method":"GET","path":"/missing","id":9}`,
		`{"type":"request","id":9,"statusCode":404,"payload":{"statusCode":404,"error":"Not Found","message":"Not Found"}}`)
	c.expect(`{"type":"request","method":"GET","path":"/hello","headers":{"Authorization":"x"},"id":10}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Cannot include an Authorization header"},"type":"request","id":10}`)
	c.expect(`{"type":"message","message":"hi","id":11}`, `{"type":"message","id":11,"message":{"echo":"hi"}}`)
	c.expect(`{"type":"message","message":"fail","id":12}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"You asked me to fail"},"type":"message","id":12}`)

	// The echo route: captured prefix, then the headers the route received.
	got := c.roundTrip(`{"type":"request","method":"POST","path":"/echo/5?q=1","headers":{"x-custom":"yes"},"payload":{"a":1},"id":3}`)
	const prefix = `{"type":"request","id":3,"statusCode":200,"payload":{"id":"5","payload":{"a":1},"query":{"q":"1"},"hdr":"yes","socket":true,"ct":"application/json","headers":{`
	if !strings.HasPrefix(got, prefix) {
		t.Errorf("echo reply %s\nwant prefix %s", got, prefix)
	}

	// Big payloads come back whole.
	got = c.roundTrip(`{"type":"request","method":"GET","path":"/big?n=100000","id":13}`)
	if want := `{"type":"request","id":13,"statusCode":200,"payload":"` + strings.Repeat("x", 100000) + `"}`; got != want {
		t.Errorf("big reply: %d bytes, want %d", len(got), len(want))
	}
}

func TestHelloErrorsAndOptions(t *testing.T) {
	srv := hapitest.Start(t, hapitest.Config{NoHeartbeat: true, MaxChunkChars: 40})
	c := dial(t, srv.URL+"any/path", nil)
	c.send(`{"type":"hello","version":"1","id":"abc"}`)
	if got, want := chunked(t, c), `{"statusCode":400,"payload":{"error":"Bad Request","message":"Incorrect protocol version (expected 2 but received 1)"},"type":"hello","id":"abc"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// §2.8: chunks of 40 characters, '+' then '!'.
	c.send(`{"type":"hello","version":"2","id":1}`)
	match(t, `^\{"type":"hello","id":1,"heartbeat":false,`+socketID+`\}$`, chunked(t, c))
}

// chunked reads one message sent in chunks of 40 characters.
func chunked(t testing.TB, c *raw) string {
	t.Helper()
	var joined strings.Builder
	for {
		f := c.next()
		joined.WriteString(f[1:])
		if f[0] == '!' {
			return joined.String()
		}
		if f[0] != '+' || len(f) != 41 {
			t.Fatalf("chunk %q", f)
		}
	}
}

func TestPublishBroadcastRevoke(t *testing.T) {
	srv := hapitest.Start(t, hapitest.Config{
		NoHeartbeat:   true,
		Subscriptions: []hapitest.Subscription{{Path: "/items/{id}"}, {Path: "/news"}},
	})
	c := dial(t, srv.URL, nil)
	match(t, `^\{"type":"hello","id":1,"heartbeat":false,`+socketID+`\}$`,
		c.roundTrip(`{"type":"hello","version":"2","subs":["/news"],"id":1}`))
	c.expect(`{"type":"sub","path":"/items/5","id":2}`, `{"type":"sub","id":2,"path":"/items/5"}`)

	socks, err := srv.Sockets()
	if err != nil || len(socks) != 1 || strings.Join(socks[0].Subscriptions, ",") != "/items/5,/news" {
		t.Fatalf("Sockets() = %+v, %v", socks, err)
	}
	if evs, err := srv.Events("subscribe", 2, time.Second); err != nil || len(evs) != 2 || evs[1].Params["id"] != "5" {
		t.Errorf("subscribe events %+v, %v", evs, err)
	}

	// Not delivered to /items/5; a barrier (broadcast) orders the check.
	if err := srv.Publish("/items/6", "other", ""); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("/items/5", map[string]string{"a": "b"}, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := c.next(), `{"type":"pub","path":"/items/5","message":{"a":"b"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if err := srv.Publish("/news", "breaking", ""); err != nil {
		t.Fatal(err)
	}
	if got, want := c.next(), `{"type":"pub","path":"/news","message":"breaking"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if err := srv.Broadcast(map[string]string{"all": "clients"}, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := c.next(), `{"type":"update","message":{"all":"clients"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if err := srv.Send(socks[0].ID, "direct update"); err != nil {
		t.Fatal(err)
	}
	if got, want := c.next(), `{"type":"update","message":"direct update"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if err := srv.Revoke("/items/5", map[string]string{"reason": "bye"}); err != nil {
		t.Fatal(err)
	}
	if got, want := c.next(), `{"type":"revoke","path":"/items/5","message":{"reason":"bye"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if err := srv.Revoke("/news", nil); err != nil {
		t.Fatal(err)
	}
	if got, want := c.next(), `{"type":"revoke","path":"/news"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	c.expect(`{"type":"unsub","path":"/news","id":3}`, `{"type":"unsub","id":3}`)

	// A user needs auth.index: the control API reports nes's assertion.
	var ce *hapitest.ControlError
	if err := srv.Broadcast("x", "john"); !errors.As(err, &ce) || ce.Status != 500 || !strings.Contains(ce.Msg, "indexing is disabled") {
		t.Errorf("Broadcast to a user without index: %v", err)
	}

	if err := srv.DisconnectAll(); err != nil {
		t.Fatal(err)
	}
	c.expectClosed()

	// Stop, then Restart on the same port.
	c2 := dial(t, srv.URL, nil)
	c2.roundTrip(`{"type":"hello","version":"2","id":1}`)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	c2.expectClosed()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if conn, _, err := websocket.Dial(ctx, srv.URL, nil); err == nil {
		_ = conn.CloseNow()
		t.Error("dial succeeded while stopped")
	}
	cancel()
	if err := srv.Publish("/news", "x", ""); err == nil {
		t.Error("Publish while stopped succeeded")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	c3 := dial(t, srv.URL, nil)
	match(t, `^\{"type":"hello","id":7,"heartbeat":false,`+socketID+`\}$`,
		c3.roundTrip(`{"type":"hello","version":"2","subs":["/items/9"],"id":7}`))
	if err := srv.Restart(); err != nil { // while running
		t.Fatal(err)
	}
	c3.expectClosed()
}

func TestDirectAuth(t *testing.T) {
	srv := hapitest.Start(t, hapitest.Config{
		Heartbeat: &hapitest.Heartbeat{Interval: 1000, Timeout: 500},
		Auth:      &hapitest.Auth{Index: true},
		Subscriptions: []hapitest.Subscription{
			{Path: "/b", Auth: &hapitest.SubscriptionAuth{Scope: []string{"b"}, Index: true}},
			{Path: "/public", NoAuth: true},
		},
	})
	c := dial(t, srv.URL, nil)
	c.expect(`{"type":"hello","version":"2","id":1}`,
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Connection requires authentication"},"type":"hello","id":1}`)

	c = dial(t, srv.URL, nil)
	c.expect(`{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom bad"}},"id":1}`,
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Bad credentials"},"type":"hello","id":1}`)

	c = dial(t, srv.URL, nil)
	match(t, `^\{"type":"hello","id":1,"heartbeat":\{"interval":1000,"timeout":500\},`+socketID+`\}$`,
		c.roundTrip(`{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom john"}},"subs":["/public"],"id":1}`))
	match(t, `^\{"type":"request","id":2,"statusCode":200,"payload":\{"authenticated":true,"credentials":\{"user":"john","scope":\["a"\]\},`+socketID+`\}\}$`,
		c.roundTrip(`{"type":"request","method":"GET","path":"/who","id":2}`))
	c.expect(`{"type":"sub","path":"/b","id":3}`,
		`{"statusCode":403,"payload":{"error":"Forbidden","message":"Insufficient scope to subscribe, expected any of: b"},"type":"sub","id":3}`)
	if err := srv.Broadcast("for john", "john"); err != nil {
		t.Fatal(err)
	}
	if got, want := c.next(), `{"type":"update","message":"for john"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}

	ed := dial(t, srv.URL, nil)
	ed.roundTrip(`{"type":"hello","version":"2","auth":{"headers":{"authorization":"Custom ed"}},"subs":["/b"],"id":1}`)
	if err := srv.Publish("/b", "for ed", "ed"); err != nil {
		t.Fatal(err)
	}
	if got, want := ed.next(), `{"type":"pub","path":"/b","message":"for ed"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestTokenAuth(t *testing.T) {
	srv := hapitest.Start(t, hapitest.Config{NoHeartbeat: true, Auth: &hapitest.Auth{Type: "token"}})
	if _, err := srv.Token("nobody"); err == nil {
		t.Error("Token(nobody) succeeded")
	}
	token, err := srv.Token("ed")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "Fe26.2**") {
		t.Errorf("token %q is not iron", token)
	}
	c := dial(t, srv.URL, nil)
	hello, _ := json.Marshal(map[string]any{"type": "hello", "version": "2", "auth": token, "id": 1})
	match(t, `^\{"type":"hello","id":1,"heartbeat":false,`+socketID+`\}$`, c.roundTrip(string(hello)))
	match(t, `^\{"type":"request","id":2,"statusCode":200,"payload":\{"authenticated":true,"credentials":\{"user":"ed","scope":\["a","b"\]\},`,
		c.roundTrip(`{"type":"request","method":"GET","path":"/who","id":2}`))

	c = dial(t, srv.URL, nil)
	c.expect(`{"type":"hello","version":"2","auth":"Fe26.2**nope","id":1}`,
		`{"statusCode":401,"payload":{"error":"Unauthorized","message":"Invalid token"},"type":"hello","id":1}`)
}

func TestCookieAuth(t *testing.T) {
	srv := hapitest.Start(t, hapitest.Config{NoHeartbeat: true, Auth: &hapitest.Auth{Type: "cookie", Mode: "optional"}})
	cookie, err := srv.Cookie("app")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cookie, "nes=Fe26.2**") {
		t.Errorf("cookie %q", cookie)
	}
	c := dial(t, srv.URL, http.Header{"Cookie": {cookie}})
	match(t, `^\{"type":"hello","id":1,"heartbeat":false,`+socketID+`\}$`, c.roundTrip(`{"type":"hello","version":"2","id":1}`))
	match(t, `^\{"type":"request","id":2,"statusCode":200,"payload":\{"authenticated":true,"credentials":\{"app":"app","scope":\["a"\]\},`,
		c.roundTrip(`{"type":"request","method":"GET","path":"/who","id":2}`))

	// Cookie and hello.auth together.
	c = dial(t, srv.URL, http.Header{"Cookie": {cookie}})
	c.expect(`{"type":"hello","version":"2","auth":{"headers":{}},"id":1}`,
		`{"statusCode":400,"payload":{"error":"Bad Request","message":"Connection already authenticated"},"type":"hello","id":1}`)

	// Optional mode: anonymous sockets are fine, /private is not.
	c = dial(t, srv.URL, nil)
	c.roundTrip(`{"type":"hello","version":"2","id":1}`)
	c.expect(`{"type":"request","method":"GET","path":"/private","id":2}`,
		`{"type":"request","id":2,"statusCode":401,"payload":{"statusCode":401,"error":"Unauthorized","message":"Missing authentication"}}`)
}
