package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nes-go/nes/nes"
)

// startChat runs the whole application (nes server, routes, page) on an
// httptest server, with the cookie flow as the demo's default, and shuts
// both down when the test ends.
func startChat(t *testing.T) (*httptest.Server, *app) {
	t.Helper()
	return startChatWith(t, config{AuthType: nes.AuthCookie})
}

// startChatWith is startChat with the authentication settings of cfg.
func startChatWith(t *testing.T, cfg config) (*httptest.Server, *app) {
	t.Helper()
	client := filepath.Join(t.TempDir(), "client.js")
	if err := os.WriteFile(client, []byte("window.nes = {};\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.ClientPath = client
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Now = func() time.Time { return testNow }
	a, err := newApp(cfg)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	ts := httptest.NewServer(a.router)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.nes.Shutdown(ctx); err != nil {
			t.Errorf("nes shutdown: %v", err)
		}
		ts.Close()
	})
	return ts, a
}

// rawSocket is a websocket speaking the nes protocol by hand, as the
// official client would.
type rawSocket struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialNes(t *testing.T, ts *httptest.Server) *rawSocket {
	t.Helper()
	return dialNesWith(t, ts, nil)
}

// dialNesWith dials with the upgrade request's headers (a Cookie, an Origin).
func dialNesWith(t *testing.T, ts *httptest.Server, header http.Header) *rawSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/nes", &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &rawSocket{t: t, conn: conn}
}

func (s *rawSocket) send(frame string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		s.t.Fatalf("write %s: %v", frame, err)
	}
}

// next returns the next frame that is not a heartbeat ping.
func (s *rawSocket) next() map[string]json.RawMessage {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			s.t.Fatalf("read: %v", err)
		}
		if typ != websocket.MessageText {
			s.t.Fatalf("got a binary frame; the browser client needs text frames")
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			s.t.Fatalf("frame %s is not a JSON object: %v", data, err)
		}
		if string(m["type"]) == `"ping"` && m["id"] == nil {
			continue
		}
		return m
	}
}

func (s *rawSocket) expect(wantType string) map[string]json.RawMessage {
	s.t.Helper()
	m := s.next()
	// Error replies echo the type of the failed message and carry a
	// top-level statusCode; of the successful replies only "request" has one.
	if _, isErr := m["statusCode"]; isErr && wantType != "request" {
		s.t.Fatalf("got error frame %s, want a %q reply", frameString(m), wantType)
	}
	if got := string(m["type"]); got != `"`+wantType+`"` {
		s.t.Fatalf("got frame %s, want type %q", frameString(m), wantType)
	}
	return m
}

func frameString(m map[string]json.RawMessage) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// helloAndSub opens the session and subscribes to path.
func (s *rawSocket) helloAndSub(path string) {
	s.t.Helper()
	s.send(`{"type":"hello","version":"2","id":1}`)
	s.expect("hello")
	s.send(`{"type":"sub","path":"` + path + `","id":2}`)
	if m := s.expect("sub"); string(m["path"]) != `"`+path+`"` {
		s.t.Fatalf("sub reply %s, want path %s", frameString(m), path)
	}
}

func assertLobbyMessage(t *testing.T, raw json.RawMessage, text, from string) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("message %s: %v", raw, err)
	}
	want := map[string]any{"room": "lobby", "text": text, "from": from, "at": "2025-06-07T08:09:10.123Z"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("message[%q] = %v, want %v (message %s)", k, got[k], v, raw)
		}
	}
}

func TestEndToEndPostOverHTTPIsPublished(t *testing.T) {
	ts, _ := startChat(t)
	ws := dialNes(t, ts)
	ws.helloAndSub("/rooms/lobby")

	res := postAs(t, ts, "ann", "demo", `{"text":"hello from HTTP"}`)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST status = %d, want 201", res.StatusCode)
	}

	pub := ws.expect("pub")
	if string(pub["path"]) != `"/rooms/lobby"` {
		t.Errorf("pub path = %s, want /rooms/lobby", pub["path"])
	}
	assertLobbyMessage(t, pub["message"], "hello from HTTP", "ann")
}

func TestEndToEndPostOverTheSocket(t *testing.T) {
	ts, a := startChat(t)
	ws := dialNesWith(t, ts, cookieHeader(t, ts, "ann"))
	ws.helloAndSub("/rooms/lobby")

	ws.send(`{"type":"request","method":"POST","path":"/rooms/lobby/messages","payload":{"text":"hello from the socket"},"id":3}`)

	// The reply and the publication may come in either order.
	var reply, pub map[string]json.RawMessage
	for reply == nil || pub == nil {
		m := ws.next()
		switch string(m["type"]) {
		case `"request"`:
			reply = m
		case `"pub"`:
			pub = m
		default:
			t.Fatalf("unexpected frame %s", frameString(m))
		}
	}
	if string(reply["id"]) != "3" || string(reply["statusCode"]) != "201" {
		t.Fatalf("reply = %s, want id 3 and statusCode 201", frameString(reply))
	}
	assertLobbyMessage(t, reply["payload"], "hello from the socket", "ann")
	assertLobbyMessage(t, pub["message"], "hello from the socket", "ann")

	if got := a.store.Last("lobby", 50); len(got) != 1 || got[0].Text != "hello from the socket" {
		t.Errorf("store = %+v", got)
	}
}

func TestEndToEndValidationErrorOverTheSocket(t *testing.T) {
	ts, _ := startChat(t)
	ws := dialNesWith(t, ts, cookieHeader(t, ts, "ann"))
	ws.send(`{"type":"hello","version":"2","id":1}`)
	ws.expect("hello")

	ws.send(`{"type":"request","method":"POST","path":"/rooms/lobby/messages","payload":{"text":"   "},"id":2}`)

	reply := ws.expect("request")
	if string(reply["statusCode"]) != "400" {
		t.Fatalf("reply = %s, want statusCode 400", frameString(reply))
	}
	var body errorBody
	if err := json.Unmarshal(reply["payload"], &body); err != nil {
		t.Fatal(err)
	}
	if body.StatusCode != 400 || body.Error != "Bad Request" || !strings.Contains(body.Message, `"text" is required`) {
		t.Errorf("payload = %+v", body)
	}
}

func TestEndToEndBadRoomSubscriptionIsRefused(t *testing.T) {
	ts, _ := startChat(t)
	ws := dialNes(t, ts)
	ws.send(`{"type":"hello","version":"2","id":1}`)
	ws.expect("hello")

	ws.send(`{"type":"sub","path":"/rooms/no.dots","id":2}`)

	m := ws.next()
	if sc := string(m["statusCode"]); sc != "400" || string(m["type"]) != `"sub"` || string(m["id"]) != "2" {
		t.Fatalf("reply = %s, want the 400 error of OnSubscribe for sub 2", frameString(m))
	}
	var payload struct{ Message string }
	if err := json.Unmarshal(m["payload"], &payload); err != nil || !strings.Contains(payload.Message, "Invalid room name") {
		t.Errorf("payload = %s, want the room name rule", m["payload"])
	}
}

func TestEndToEndHistoryAfterPosts(t *testing.T) {
	ts, _ := startChat(t)
	for _, text := range []string{"first", "second"} {
		postAs(t, ts, "ann", "demo", `{"text":"`+text+`"}`).Body.Close()
	}
	res, err := http.Get(ts.URL + "/rooms/lobby/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got []Message
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(texts(got), ","); s != "first,second" {
		t.Errorf("history = %s, want first,second", s)
	}
}
