package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestProtocol checks, over a real websocket with raw frames, the JSON
// protocol documented at the top of main.go: connect, subscribe, publication
// pushes from POST /publish, the RPC echo and its error, and a server ping
// answered by a pong.
func TestProtocol(t *testing.T) {
	hs := startServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/connection/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if p := res.Header.Get("Sec-WebSocket-Protocol"); p != "" {
		t.Errorf("subprotocol %q selected without being offered", p)
	}

	// The server batches several replies and pushes in one frame, separated
	// by newlines; read returns them one at a time.
	var pending [][]byte
	read := func() []byte {
		t.Helper()
		for len(pending) == 0 {
			typ, data, err := conn.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if typ != websocket.MessageText {
				t.Fatalf("frame type %v, want text", typ)
			}
			t.Logf("<- %s", data)
			pending = bytes.Split(data, []byte("\n"))
		}
		line := pending[0]
		pending = pending[1:]
		return line
	}
	send := func(s string) {
		t.Helper()
		t.Logf("-> %s", s)
		if err := conn.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	decode := func(line []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(line, v); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}

	send(`{"id":1,"connect":{}}`)
	var connect struct {
		ID      uint32 `json:"id"`
		Connect *struct {
			Client string `json:"client"`
			Ping   int    `json:"ping"`
			Pong   bool   `json:"pong"`
		} `json:"connect"`
	}
	decode(read(), &connect)
	if connect.ID != 1 || connect.Connect == nil || connect.Connect.Client == "" || connect.Connect.Ping != 25 || !connect.Connect.Pong {
		t.Fatalf("connect reply %+v, want id 1, a client id, ping 25, pong true", connect)
	}

	send(`{"id":2,"subscribe":{"channel":"rooms:bench"}}`)
	if line := read(); string(line) != `{"id":2,"subscribe":{}}` {
		t.Fatalf("subscribe reply %s", line)
	}

	pub, err := http.Post(hs.URL+"/publish?path=/rooms/bench&n=3&size=100", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pub.Body.Close()
	if pub.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /publish: %s", pub.Status)
	}
	for i := range 3 {
		var push struct {
			ID   uint32 `json:"id"`
			Push struct {
				Channel string `json:"channel"`
				Pub     struct {
					Data json.RawMessage `json:"data"`
				} `json:"pub"`
			} `json:"push"`
		}
		line := read()
		decode(line, &push)
		prefix := `{"push":{"channel":"rooms:bench","pub":{"data":{"t":`
		if !bytes.HasPrefix(line, []byte(prefix)) || push.ID != 0 {
			t.Fatalf("push %s, want it to start with %s", line, prefix)
		}
		var msg struct {
			T   int64  `json:"t"`
			I   int    `json:"i"`
			Pad string `json:"pad"`
		}
		decode(push.Push.Pub.Data, &msg)
		if len(push.Push.Pub.Data) != 100 || msg.I != i || time.Since(time.Unix(0, msg.T)) > time.Minute || strings.Trim(msg.Pad, "x") != "" {
			t.Fatalf("publication %d: %s (%d bytes)", i, push.Push.Pub.Data, len(push.Push.Pub.Data))
		}
	}

	send(`{"id":3,"rpc":{"method":"echo","data":{"x":1}}}`)
	if line := read(); string(line) != `{"id":3,"rpc":{"data":{"x":1}}}` {
		t.Fatalf("rpc reply %s", line)
	}
	send(`{"id":4,"rpc":{"method":"nope","data":{}}}`)
	if line := read(); string(line) != `{"id":4,"error":{"code":104,"message":"method not found"}}` {
		t.Fatalf("rpc error reply %s", line)
	}

	// Two commands in one frame get two replies (possibly in one frame).
	send("{\"id\":5,\"rpc\":{\"method\":\"echo\",\"data\":5}}\n{\"id\":6,\"rpc\":{\"method\":\"echo\",\"data\":6}}")
	for _, want := range []string{`{"id":5,"rpc":{"data":5}}`, `{"id":6,"rpc":{"data":6}}`} {
		if line := read(); string(line) != want {
			t.Fatalf("batched rpc reply %s, want %s", line, want)
		}
	}

	if testing.Short() {
		return
	}
	// The server pings with {} every 25 s; the client answers {}.
	t.Log("waiting for the server's ping (25 s)")
	ctx, cancel = context.WithTimeout(context.Background(), 35*time.Second)
	defer cancel()
	if line := read(); string(line) != `{}` {
		t.Fatalf("got %s, want the ping {}", line)
	}
	send(`{}`)
	send(`{"id":7,"rpc":{"method":"echo","data":7}}`)
	if line := read(); string(line) != `{"id":7,"rpc":{"data":7}}` {
		t.Fatalf("rpc after pong: %s", line)
	}
}

// TestSubprotocol checks that a client offering "centrifuge-json" gets it
// and speaks the same JSON protocol.
func TestSubprotocol(t *testing.T) {
	hs := startServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/connection/websocket",
		&websocket.DialOptions{Subprotocols: []string{"centrifuge-json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if p := res.Header.Get("Sec-WebSocket-Protocol"); p != "centrifuge-json" {
		t.Errorf("subprotocol %q, want centrifuge-json", p)
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"id":1,"connect":{}}`)); err != nil {
		t.Fatal(err)
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(`{"id":1,"connect":{"client":"`)) {
		t.Fatalf("connect reply %s", data)
	}
}

// startServer runs the bench server on an httptest server until the test
// ends.
func startServer(t *testing.T) *httptest.Server {
	t.Helper()
	node, err := newNode()
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Run(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(newMux(node))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		node.Shutdown(ctx)
		hs.Close()
	})
	return hs
}
