package nes

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
)

// countingListener counts the bytes the server writes on its connections.
type countingListener struct {
	net.Listener
	written *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, written: l.written}, nil
}

type countingConn struct {
	net.Conn
	written *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// BenchmarkCompression sends a chat-history-like JSON update (~4 KB) from
// the server to one client over loopback, with permessage-deflate off and
// on (both sides), and reports the bytes on the wire per message.
func BenchmarkCompression(b *testing.B) {
	var items []string
	for i := 0; i < 40; i++ {
		items = append(items, fmt.Sprintf(`{"room":"lobby","text":"message number %d in the lobby","from":"user%d","at":"2026-11-22T15:49:04.%03dZ"}`, i, i%7, i))
	}
	msg := []byte("[" + strings.Join(items, ",") + "]")
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("compression=%v", on), func(b *testing.B) {
			srv, err := New(Options{Heartbeat: Heartbeat{Disabled: true}, Compression: on, HelloTimeout: -1})
			if err != nil {
				b.Fatal(err)
			}
			r := chi.NewRouter()
			srv.Mount(r, "/nes")
			var written atomic.Int64
			hs := httptest.NewUnstartedServer(r)
			hs.Listener = countingListener{Listener: hs.Listener, written: &written}
			hs.Start()
			defer hs.Close()
			mode := websocket.CompressionDisabled
			if on {
				mode = websocket.CompressionNoContextTakeover
			}
			ctx := context.Background()
			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/nes", &websocket.DialOptions{CompressionMode: mode})
			if err != nil {
				b.Fatal(err)
			}
			c.SetReadLimit(1 << 20)
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","version":"2","id":1}`)); err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err != nil {
				b.Fatal(err)
			}
			var sock *Socket
			srv.EachSocket(func(s *Socket) bool { sock = s; return false })
			written.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := sock.Send(ctx, jsonRaw(msg)); err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.Read(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(written.Load())/float64(b.N), "wire-bytes/msg")
			b.ReportMetric(float64(len(msg)), "json-bytes")
			c.Close(websocket.StatusNormalClosure, "")
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func jsonRaw(b []byte) any { return json.RawMessage(b) }
