package nes

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// handlingModes runs a test with the shared handlers (the default) and
// with Options.HandleInline.
func handlingModes(t *testing.T, test func(t *testing.T, opts Options)) {
	for _, inline := range []bool{false, true} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) {
			opts := quietOptions()
			opts.HandleInline = inline
			test(t, opts)
		})
	}
}

// A socket whose route blocks holds up neither the other sockets nor, once
// given up as slow, the shared handlers.
func TestSlowRouteDoesNotHoldOtherSockets(t *testing.T) {
	handlingModes(t, func(t *testing.T, opts Options) {
		ts, unblock := newBlockingServer(t, opts)
		a, b := dial(t, ts.url, nil), dial(t, ts.url, nil)
		a.hello()
		b.hello()
		a.send(`{"type":"request","method":"GET","path":"/block","id":2}`)
		for i := 3; i < 6; i++ {
			b.roundTrip(fmt.Sprintf(`{"type":"request","method":"GET","path":"/fast","id":%d}`, i),
				fmt.Sprintf(`{"type":"request","id":%d,"statusCode":200,"payload":"fast"}`, i))
		}
		unblock()
		a.expect(`{"type":"request","id":2,"statusCode":200,"payload":"done"}`)
		if h := ts.handlers; h != nil {
			waitFor(t, "the slow handler to end", func() bool {
				h.mu.Lock()
				defer h.mu.Unlock()
				return h.slow == 0 && h.running <= h.max
			})
		}
	})
}

// The shared handlers take sockets in turn: a socket with many frames
// queued gets one handled, then goes behind the others.
func TestHandlersTakeTurns(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	var mu sync.Mutex
	var order []string
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		s.stealAfter = time.Hour // no handler is given up as slow
		s.handlers.max = 1
		r.Get("/step", func(w http.ResponseWriter, r *http.Request) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-gate
			mu.Lock()
			order = append(order, "step")
			mu.Unlock()
			w.Write([]byte("step"))
		})
		r.Get("/fast", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			order = append(order, "fast")
			mu.Unlock()
			w.Write([]byte("fast"))
		})
	})
	open := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(open)
	a, b := dial(t, ts.url, nil), dial(t, ts.url, nil)
	a.hello()
	b.hello()
	const steps = 5
	for i := 0; i < steps; i++ {
		a.send(fmt.Sprintf(`{"type":"request","method":"GET","path":"/step","id":%d}`, 10+i))
	}
	// The one handler is held by a's first frame, a's others are queued
	// on a, and b's request waits in the FIFO.
	queueBehindHeldHandler(t, ts, entered, b, 2)
	open()
	b.expect(`{"type":"request","id":2,"statusCode":200,"payload":"fast"}`)
	for i := 0; i < steps; i++ {
		a.expect(fmt.Sprintf(`{"type":"request","id":%d,"statusCode":200,"payload":"step"}`, 10+i))
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"step", "fast", "step", "step", "step", "step"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("handled %v, want %v", order, want)
	}
}

// A handler with no other socket waiting writes its reply itself; while
// others wait, it leaves the reply to the writers and handles the next.
func TestHandlerWritesReplyWhenNoneWait(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		s.stealAfter = time.Hour // no handler is given up as slow
		s.handlers.max = 1
		r.Get("/step", func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-gate
			w.Write([]byte("step"))
		})
		r.Get("/fast", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("fast")) })
	})
	open := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(open)
	started := func() int {
		ts.writers.mu.Lock()
		defer ts.writers.mu.Unlock()
		return ts.writers.started
	}
	a, b := dial(t, ts.url, nil), dial(t, ts.url, nil)
	a.hello()
	b.hello()
	for i := 2; i < 12; i++ {
		b.roundTrip(fmt.Sprintf(`{"type":"request","method":"GET","path":"/fast","id":%d}`, i),
			fmt.Sprintf(`{"type":"request","id":%d,"statusCode":200,"payload":"fast"}`, i))
	}
	if n := started(); n != 0 {
		t.Fatalf("%d writers started for replies with no socket waiting, want 0", n)
	}

	// The handler is held by a's request while b's waits in the FIFO.
	a.send(`{"type":"request","method":"GET","path":"/step","id":20}`)
	queueBehindHeldHandler(t, ts, entered, b, 21)
	open()
	a.expect(`{"type":"request","id":20,"statusCode":200,"payload":"step"}`)
	b.expect(`{"type":"request","id":21,"statusCode":200,"payload":"fast"}`)
	if n := started(); n != 1 {
		t.Fatalf("%d writers started, want 1: for a's reply, queued while b waited", n)
	}
}

// queueBehindHeldHandler waits until a request holds the one handler in its
// route (entered), then sends c's request for /fast with id and waits until
// c's socket is in the FIFO.
func queueBehindHeldHandler(t *testing.T, ts *testServer, entered <-chan struct{}, c *rawClient, id int) {
	t.Helper()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the route that holds the handler was not entered")
	}
	c.send(fmt.Sprintf(`{"type":"request","method":"GET","path":"/fast","id":%d}`, id))
	h := ts.handlers
	waitFor(t, "the socket in the FIFO", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.ready.len() == 1
	})
}

// Handler and writer goroutines end once idle for idleLinger.
func TestPoolGoroutinesEndWhenIdle(t *testing.T) {
	ts := newTestServer(t, quietOptions(), func(s *Server, r chi.Router) {
		r.Get("/fast", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("fast")) })
	})
	c := dial(t, ts.url, nil)
	c.hello()
	for i := 2; i < 20; i++ {
		c.roundTrip(fmt.Sprintf(`{"type":"request","method":"GET","path":"/fast","id":%d}`, i),
			fmt.Sprintf(`{"type":"request","id":%d,"statusCode":200,"payload":"fast"}`, i))
	}
	waitFor(t, "handlers and writers to end", func() bool {
		ts.handlers.mu.Lock()
		h := ts.handlers.running
		ts.handlers.mu.Unlock()
		ts.writers.mu.Lock()
		w := ts.writers.running
		ts.writers.mu.Unlock()
		return h == 0 && w == 0
	})
}

func TestSockQueue(t *testing.T) {
	var q sockQueue
	if q.pop() != nil || q.len() != 0 {
		t.Fatal("empty queue not empty")
	}
	socks := make([]*Socket, 1000)
	for i := range socks {
		socks[i] = &Socket{id: fmt.Sprint(i)}
	}
	next := 0 // the next socket pop must return
	pushed := 0
	for round := 0; round < 20; round++ {
		// Push 70, pop 50: the front is reused as the queue moves on.
		for k := 0; k < 70 && pushed < len(socks); k++ {
			if k%2 == 0 {
				q.push(socks[pushed])
				pushed++
			} else if pushed+1 < len(socks) {
				q.pushAll(socks[pushed : pushed+2])
				pushed += 2
			}
		}
		for k := 0; k < 50 && q.len() > 0; k++ {
			if s := q.pop(); s != socks[next] {
				t.Fatalf("pop %d returned socket %s", next, s.id)
			}
			next++
		}
		if q.len() != pushed-next {
			t.Fatalf("len %d, want %d", q.len(), pushed-next)
		}
	}
	for q.len() > 0 {
		if s := q.pop(); s != socks[next] {
			t.Fatalf("pop %d returned socket %s", next, s.id)
		}
		next++
	}
	if next != pushed || q.pop() != nil {
		t.Fatalf("popped %d of %d", next, pushed)
	}
	if cap(q.socks) > 2*len(socks) {
		t.Fatalf("the queue's array grew to %d for at most %d sockets", cap(q.socks), len(socks))
	}
}

func TestIdlersWakeAndTimeOut(t *testing.T) {
	var mu sync.Mutex
	var is idlers
	// Nobody wakes it: it times out, and is no longer listed.
	mu.Lock()
	start := time.Now()
	if is.waitLocked(&mu) {
		t.Fatal("woken with nobody to wake it")
	}
	if d := time.Since(start); d < idleLinger {
		t.Fatalf("waited %v, less than idleLinger", d)
	}
	if len(is.waiting) != 0 || is.wakeLocked() {
		t.Fatal("a timed-out goroutine is still listed")
	}
	mu.Unlock()
	// Woken: by another goroutine, under the lock.
	done := make(chan struct{})
	go func() {
		defer close(done)
		mu.Lock()
		defer mu.Unlock()
		for !is.waitLocked(&mu) { // until woken
		}
	}()
	for woke := false; !woke; {
		mu.Lock()
		woke = is.wakeLocked()
		mu.Unlock()
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a woken goroutine did not return")
	}
	if len(is.spare) != 1 {
		t.Fatalf("%d spare idlers, want the one reused", len(is.spare))
	}
}
