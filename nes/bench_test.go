package nes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
)

// discardConn is an in-process connection: reads block until it closes,
// writes are counted and dropped.
type discardConn struct {
	frames atomic.Int64
	bytes  atomic.Int64
	closed chan struct{}
	once   atomic.Bool
}

func newDiscardConn() *discardConn { return &discardConn{closed: make(chan struct{})} }

// discardConns are the connections of one benchmark.
type discardConns []*discardConn

// frames returns the frames written on all the connections.
func (cs discardConns) frames() int64 {
	var n int64
	for _, c := range cs {
		n += c.frames.Load()
	}
	return n
}

func (cs discardConns) reset() {
	for _, c := range cs {
		c.frames.Store(0)
	}
}

func (c *discardConn) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	select {
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	case <-c.closed:
		return 0, nil, errors.New("closed")
	}
}

func (c *discardConn) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	c.frames.Add(1)
	c.bytes.Add(int64(len(p)))
	return nil
}

func (c *discardConn) Close(websocket.StatusCode, string) error { return c.CloseNow() }

func (c *discardConn) CloseNow() error {
	if c.once.CompareAndSwap(false, true) {
		close(c.closed)
	}
	return nil
}

// benchSockets starts n in-process sockets subscribed to path.
func benchSockets(tb testing.TB, srv *Server, n int, path string) discardConns {
	conns := make(discardConns, n)
	req, _ := http.NewRequest("GET", "http://127.0.0.1/nes", nil)
	for i := range conns {
		conns[i] = newDiscardConn()
		srv.wg.Add(1)
		go srv.serveConn(req, conns[i], nil, 0)
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv.Stats().Connections < n {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d sockets started", srv.Stats().Connections, n)
		}
		time.Sleep(time.Millisecond)
	}
	for _, sock := range srv.allSockets(nil) {
		sock.helloed.Store(true)
		sock.ready.Store(true)
		if e := sock.subscribe(context.Background(), path); e != nil {
			tb.Fatal(e.Message)
		}
	}
	return conns
}

// waitDelivered waits until want frames were written in all.
func waitDelivered(tb testing.TB, conns discardConns, want int64) {
	deadline := time.Now().Add(120 * time.Second)
	for conns.frames() < want {
		if time.Now().After(deadline) {
			tb.Fatalf("delivered %d of %d frames", conns.frames(), want)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// warmUp brings the queues to their working size, so that the benchmark
// measures the steady state (the first bursts after a server starts
// allocate queue chunks in proportion to the subscribers).
//
// How many chunks a burst takes at its peak depends on how far the writers
// were behind the publisher. So the first warm-up burst, twice a measured
// one, is published with the writers paused: every queue holds all of it
// at once, more than a measured burst can make it hold, and the free list
// keeps those chunks. Then bursts are published and delivered until a few
// in a row needed no new chunk (at most 100).
func warmUp(tb testing.TB, srv *Server, conns discardConns, path string, msg any) {
	srv.writers.pause()
	for i := 0; i < 2*publishBurst; i++ {
		if err := srv.Publish(context.Background(), path, msg); err != nil {
			tb.Fatal(err)
		}
	}
	srv.writers.resume()
	delivered := int64(2 * publishBurst * len(conns))
	waitDelivered(tb, conns, delivered)
	quiet := 0
	for burst := 0; burst < 100 && quiet < 3; burst++ {
		misses := frameMisses.Load()
		for i := 0; i < publishBurst; i++ {
			if err := srv.Publish(context.Background(), path, msg); err != nil {
				tb.Fatal(err)
			}
		}
		delivered += int64(publishBurst * len(conns))
		waitDelivered(tb, conns, delivered)
		if frameMisses.Load() == misses {
			quiet++
		} else {
			quiet = 0
		}
	}
	conns.reset()
}

// publishBurst is how many publications BenchmarkPublish makes before it
// waits for their delivery: bursts of 200, the side-by-side benchmark's
// workload, so that queues stay bounded as in a server that keeps up.
const publishBurst = 200

// BenchmarkPublish publishes to 1, 100 and 10,000 in-process sockets, served
// by the server's writers into discarding connections, in bursts of
// publishBurst. It includes the delivery: the timer stops only once every
// socket wrote every frame. allocs/op must not grow with the subscriber
// count.
func BenchmarkPublish(b *testing.B) {
	msg := map[string]string{"room": "lobby", "text": "hello, world", "from": "ann"}
	benchPublish(b, msg, true)
}

// BenchmarkPublishEnqueue measures the publisher's side alone: the cost of
// Publish returning, delivery excluded.
func BenchmarkPublishEnqueue(b *testing.B) {
	benchPublish(b, json.RawMessage(`{"room":"lobby","text":"hello, world","from":"ann"}`), false)
}

func benchPublish(b *testing.B, msg any, delivered bool) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			srv, err := New(Options{Heartbeat: Heartbeat{Disabled: true}, MaxQueueBytes: 1 << 30, HelloTimeout: -1})
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.Subscription("/rooms/{room}", SubscriptionOptions{}); err != nil {
				b.Fatal(err)
			}
			conns := benchSockets(b, srv, n, "/rooms/lobby")
			warmUp(b, srv, conns, "/rooms/lobby", msg)
			ctx := context.Background()
			misses := frameMisses.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := srv.Publish(ctx, "/rooms/lobby", msg); err != nil {
					b.Fatal(err)
				}
				if delivered && (i+1)%publishBurst == 0 {
					waitDelivered(b, conns, int64(i+1)*int64(n))
				}
			}
			if delivered {
				waitDelivered(b, conns, int64(b.N)*int64(n))
			}
			b.StopTimer()
			b.ReportMetric(float64(frameMisses.Load()-misses)/float64(b.N), "new-chunks/op")
			if delivered {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
			} else {
				waitDelivered(b, conns, int64(b.N)*int64(n))
			}
			if err := srv.Shutdown(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkRequest handles request frames on an in-process socket: decoding,
// the chi route (the side-by-side benchmark's GET /echo) and encoding the
// reply into the socket's queue. With the shared handlers (the default) and
// no other socket waiting ("shared"), or inline, the handling goroutine
// writes the reply to the in-process connection itself. "shared-waiting" is
// a shared handler while other sockets wait for it: the reply goes to the
// writers, whose hand-off is counted.
func BenchmarkRequest(b *testing.B) {
	for _, mode := range []string{"shared", "shared-waiting", "inline"} {
		b.Run(mode, func(b *testing.B) { benchmarkRequest(b, mode) })
	}
}

func benchmarkRequest(b *testing.B, mode string) {
	inline := mode == "inline"
	srv, err := New(Options{Heartbeat: Heartbeat{Disabled: true}, MaxQueueBytes: 1 << 30, HelloTimeout: -1, HandleInline: inline})
	if err != nil {
		b.Fatal(err)
	}
	r := chi.NewRouter()
	r.Get("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	srv.Mount(r, "/nes")
	if err := srv.Subscription("/rooms/{room}", SubscriptionOptions{}); err != nil {
		b.Fatal(err)
	}
	conns := benchSockets(b, srv, 1, "/rooms/lobby")
	sock := srv.allSockets(nil)[0]
	frame := []byte(`{"type":"request","method":"GET","path":"/echo","id":2}`)
	// As a shared handler handles a frame. The FIFO is empty: onHandler
	// makes enqueueReply write the reply; without it, the reply goes to the
	// writers, as it would with sockets waiting.
	sock.onHandler.Store(mode == "shared")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sock.handleFrame(frame)
		if (i+1)%publishBurst == 0 {
			waitDelivered(b, conns, int64(i+1))
		}
	}
	waitDelivered(b, conns, int64(b.N))
	b.StopTimer()
	if err := srv.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// pause stops the writers from starting: sockets with frames wait in the
// FIFO until resume. For benchmarks; nothing may be running.
func (w *writers) pause() {
	w.mu.Lock()
	w.paused, w.max = w.max, 0
	w.mu.Unlock()
}

// resume undoes pause and starts the writers the FIFO needs.
func (w *writers) resume() {
	w.mu.Lock()
	w.max = w.paused
	n := w.claimLocked()
	w.mu.Unlock()
	w.spawn(n)
}
