package client

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// dispatcher runs the user's callbacks one at a time, in the order they were
// queued, on its own goroutine, never under the client's lock. A callback
// may therefore call any method of the Client.
//
// The queue is not bounded: the reader must never block on a slow callback,
// because a callback may be waiting for a reply that only the reader can
// deliver (a handler calling Request). A server that outpaces the
// application's handlers makes the queue grow; the server's own bound on
// its outbound queue (nes.Options.MaxQueueBytes) is what limits it.
type dispatcher struct {
	mu     sync.Mutex
	queue  []func()
	closed bool
	wake   chan struct{} // capacity 1
	done   chan struct{} // closed when the goroutine has returned
	goid   atomic.Uint64 // id of the dispatcher goroutine
}

func newDispatcher() *dispatcher {
	d := &dispatcher{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go d.run()
	return d
}

// enqueue queues f; it is dropped when the dispatcher is closed.
func (d *dispatcher) enqueue(f func()) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.queue = append(d.queue, f)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// close makes the goroutine return once the queue is drained.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run() {
	defer close(d.done)
	d.goid.Store(goid())
	var batch []func()
	for {
		d.mu.Lock()
		batch, d.queue = d.queue, batch[:0]
		closed := d.closed
		d.mu.Unlock()
		if len(batch) == 0 {
			if closed {
				return
			}
			<-d.wake
			continue
		}
		for i, f := range batch {
			f()
			batch[i] = nil
		}
	}
}

// onDispatcher reports whether the caller runs on the dispatcher goroutine,
// that is, inside a callback; such a caller must not wait for the
// dispatcher to finish.
func (d *dispatcher) onDispatcher() bool {
	return d.goid.Load() == goid()
}

// goid returns the id of the calling goroutine. It is used for one purpose
// only: to let Disconnect, called from a callback, avoid waiting for itself.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return n
}
