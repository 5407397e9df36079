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
// falls. A writer that finds the FIFO empty waits idleLinger for more before
// it ends (pool.go), so an idle server has no writer goroutine.
type writers struct {
	srv *Server

	mu      sync.Mutex
	ready   sockQueue
	idle    idlers
	running int // writer goroutines, idle ones included
	started int // writer goroutines started so far (tests)
	max     int
	paused  int // max while paused (benchmarks)
}

// sharedWriteBudget marks the writes of shared writers, which must not wait
// for a client: on Unix they make one non-blocking attempt, elsewhere they
// wait at most this long. A client whose connection does not take a whole
// batch gets a goroutine of its own.
const sharedWriteBudget = 2 * time.Millisecond

// newWriters makes the pool. Where a shared writer never waits for a client
// (canTryWrite), half the Ps serve writers: the other half is left to the
// goroutines that queue frames (readers, handlers, a fan-out), so frames
// gather while a socket waits its turn and each write carries more of them.
// On 2 cores one writer wrote 79–90 deliveries per system call to 10,000
// subscribers against 65–74 with two, at a median 0.20 µs of server CPU per
// delivery against 0.21 (docs/benchmarks.md, "Eighth look"). Elsewhere a
// writer may wait sharedWriteBudget on one client, and at least two serve.
func newWriters(srv *Server) *writers {
	n := max(1, runtime.GOMAXPROCS(0)/2)
	if !canTryWrite {
		n = max(2, runtime.GOMAXPROCS(0))
	}
	return &writers{srv: srv, max: n}
}

// submit queues a socket that has frames (or a close) to write.
func (w *writers) submit(s *Socket) {
	w.mu.Lock()
	if w.max > 0 && w.idle.wakeLocked() {
		w.ready.push(s)
		w.mu.Unlock()
		return
	}
	if w.running >= w.max {
		w.ready.push(s)
		w.mu.Unlock()
		return
	}
	w.running++
	w.started++
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
	w.ready.pushAll(socks)
	n := w.claimLocked()
	w.mu.Unlock()
	w.spawn(n)
}

// claimLocked wakes the idle writers the FIFO needs, counts as running
// those it needs beyond them (up to max), and returns how many; the caller
// starts them with spawn once it released w.mu.
func (w *writers) claimLocked() int {
	need := w.ready.len()
	for need > 0 && w.max > 0 && w.idle.wakeLocked() {
		need--
	}
	n := max(0, min(w.max-w.running, need))
	w.running += n
	w.started += n
	w.srv.wg.Add(n)
	return n
}

// spawn starts n writers claimed by claimLocked.
func (w *writers) spawn(n int) {
	for range n {
		go w.run(nil)
	}
}

// run serves sockets, starting with s if not nil, until none has been
// waiting for idleLinger.
func (w *writers) run(s *Socket) {
	defer w.srv.wg.Done()
	for {
		more := s != nil && s.writeOnce(sharedWriteBudget)
		w.mu.Lock()
		if more {
			w.ready.push(s)
		}
		for w.ready.len() == 0 && w.max > 0 {
			if !w.idle.waitLocked(&w.mu) {
				break
			}
		}
		if w.ready.len() == 0 || w.max == 0 {
			w.running--
			w.mu.Unlock()
			return
		}
		s = w.ready.pop()
		w.mu.Unlock()
	}
}
