package nes

import (
	"runtime"
	"sync"
	"time"
)

// writers serve the sockets that have frames to write, on a bounded number
// of goroutines. A socket with frames waits in a FIFO; a writer takes the
// first, writes what the socket has queued as one batch (one system call),
// and puts it back at the end if it may have more. Under load the queue
// grows, each socket gets more frames per batch and the cost per delivery
// falls; when idle, no writer goroutine exists.
type writers struct {
	srv *Server

	mu      sync.Mutex
	ready   []*Socket // FIFO from head
	head    int
	running int
	max     int
	paused  int // max while paused (benchmarks)
}

// sharedWriteBudget marks the writes of shared writers, which must not wait
// for a client: on Unix they make one non-blocking attempt, elsewhere they
// wait at most this long. A client whose connection does not take a whole
// batch gets a goroutine of its own.
const sharedWriteBudget = 2 * time.Millisecond

func newWriters(srv *Server) *writers {
	return &writers{srv: srv, max: max(2, runtime.GOMAXPROCS(0))}
}

// submit queues a socket that has frames (or a close) to write.
func (w *writers) submit(s *Socket) {
	w.mu.Lock()
	if w.running >= w.max {
		w.ready = append(w.ready, s)
		w.mu.Unlock()
		return
	}
	w.running++
	w.srv.wg.Add(1)
	w.mu.Unlock()
	go w.run(s)
}

// submitAll queues sockets that have frames, taking the lock once, and
// starts the writers they need.
func (w *writers) submitAll(socks []*Socket) {
	if len(socks) == 0 {
		return
	}
	w.mu.Lock()
	w.ready = append(w.ready, socks...)
	n := w.claimLocked()
	w.mu.Unlock()
	w.spawn(n)
}

// claimLocked counts, as running, the writers the FIFO needs beyond those
// running, and returns how many; the caller starts them with spawn once it
// released w.mu.
func (w *writers) claimLocked() int {
	n := max(0, min(w.max-w.running, len(w.ready)-w.head))
	w.running += n
	w.srv.wg.Add(n)
	return n
}

// spawn starts n writers claimed by claimLocked.
func (w *writers) spawn(n int) {
	for range n {
		go w.run(nil)
	}
}

// run serves sockets until none is waiting, starting with s if not nil.
func (w *writers) run(s *Socket) {
	defer w.srv.wg.Done()
	for {
		more := s != nil && s.writeOnce(sharedWriteBudget)
		w.mu.Lock()
		if more {
			w.ready = append(w.ready, s)
		}
		if w.head == len(w.ready) {
			w.ready, w.head = w.ready[:0], 0
			w.running--
			w.mu.Unlock()
			return
		}
		s = w.ready[w.head]
		w.ready[w.head] = nil
		w.head++
		if w.head >= 256 && 2*w.head >= len(w.ready) {
			// Reuse the consumed front instead of growing the array.
			n := copy(w.ready, w.ready[w.head:])
			clear(w.ready[n:])
			w.ready, w.head = w.ready[:n], 0
		}
		w.mu.Unlock()
	}
}
