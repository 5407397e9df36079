package nes

import (
	"runtime"
	"sync"
)

// Handling messages on the server's shared handlers.
//
// Unless Options.HandleInline is set, a reader does not handle the frames it
// reads: it queues each to its socket (Socket.in) and, when no goroutine
// holds the socket's handler role, takes the role and hands the socket to
// the server's handlers, a FIFO of sockets served by a few goroutines. A
// handler takes the first socket, handles one frame, and puts the socket back
// at the end if it has more. A reply made while other sockets wait in the
// FIFO goes to the shared writers (write.go); with none waiting, the
// handler writes it itself (enqueueReply), which saves waking a writer.
//
// Why: when the server and its clients saturate the cores, a reader that
// handles its frame and writes the reply itself keeps goroutines queued
// behind it on its P, and a P whose thread the kernel preempts holds them
// for a scheduler tick (4 ms at 250 Hz). Readers that only read, one FIFO of
// work that any running handler takes from, and replies written by the
// writers while others wait leave little queued on any one P. In our
// benchmark on two cores the request p99 fell by half against the readers
// handling inline (docs/benchmarks.md, "Seventh look"); a handler that
// writes its reply when it has nothing else to do won back the requests/s
// that cost ("Eighth look").
//
// A handler that takes longer than stealAfter on one frame (a route that
// waits on a database, say) is noticed by the steal watch (stealwatch.go),
// which starts another handler so that the FIFO moves on; the slow one
// finishes its socket's frame and ends.

// handlers is a server's pool of handler goroutines.
type handlers struct {
	srv *Server

	mu      sync.Mutex
	ready   sockQueue // each socket's handler role is held for it
	idle    idlers
	running int // handler goroutines, idle ones included
	slow    int // of which handling a frame the watch gave up on
	max     int // goroutines serving the FIFO, not counting slow ones
}

// newHandlers makes the pool. Half the Ps serve handlers, so that readers
// and writers, the other two stages of a request, find a P free.
func newHandlers(srv *Server) *handlers {
	return &handlers{srv: srv, max: max(1, runtime.GOMAXPROCS(0)/2)}
}

// submit queues a socket that has a frame to handle and whose handler role
// the caller took (and counted in sock.handlers).
func (h *handlers) submit(sock *Socket) {
	h.mu.Lock()
	h.ready.push(sock)
	if h.idle.wakeLocked() || h.running-h.slow >= h.max {
		h.mu.Unlock()
		return
	}
	h.running++
	h.srv.wg.Add(1)
	h.mu.Unlock()
	go h.run()
}

// noneWaiting reports whether no socket waits in the FIFO: a handler
// that replies then writes the reply itself (enqueueReply), as it has
// nothing else to do, and saves waking a writer.
func (h *handlers) noneWaiting() bool {
	h.mu.Lock()
	none := h.ready.len() == 0
	h.mu.Unlock()
	return none
}

// gaveUp is the watch's: a handler has been on one frame for longer than
// stealAfter. It counts as slow until the frame ends, and another handler
// takes over the FIFO.
func (h *handlers) gaveUp() {
	h.mu.Lock()
	h.slow++
	if !h.idle.wakeLocked() {
		h.running++
		h.srv.wg.Add(1)
		go h.run()
	}
	h.mu.Unlock()
}

// run serves sockets until the FIFO has stayed empty for idleLinger, or
// more handlers than max serve it.
func (h *handlers) run() {
	defer h.srv.wg.Done()
	h.mu.Lock()
	for {
		for h.ready.len() == 0 && h.running-h.slow <= h.max {
			if !h.idle.waitLocked(&h.mu) {
				break
			}
		}
		if h.ready.len() == 0 || h.running-h.slow > h.max {
			h.running--
			h.mu.Unlock()
			return
		}
		sock := h.ready.pop()
		h.mu.Unlock()
		more, slow := h.handleOne(sock)
		h.mu.Lock()
		if more {
			h.ready.push(sock)
		}
		if slow {
			h.slow--
		}
	}
}

// handleOne handles the first frame queued on sock. It reports whether
// the socket has more (it keeps its handler role, and goes back in the
// FIFO), and whether the watch gave up on the frame as slow.
func (h *handlers) handleOne(sock *Socket) (more, slow bool) {
	in := sock.in // not dropped while the handler role is held (park)
	select {
	case data := <-in:
		word := h.srv.watch.begin(sock)
		if sock.ctx.Err() == nil {
			sock.onHandler.Store(true)
			sock.handleFrame(data)
			sock.onHandler.Store(false)
		}
		sock.processing.Add(-1)
		putInFrame(data)
		if !sock.endInline(word) {
			// The watch gave up on this frame (steal): nothing else
			// changes the word in state inlineStolen.
			sock.inline.Store(sock.inline.Load()&^inlineStateMask | inlineNone)
			slow = true
		}
	default:
	}
	if len(in) > 0 || sock.releaseHandler(in) {
		return true, slow
	}
	sock.handlers.Done()
	return false, slow
}

// A frame queued for the handlers is a copy of the reader's buffer, which
// the next read reuses. Copies of small frames come from a pool.
const maxPooledInFrame = 2 << 10

var inFrames = sync.Pool{New: func() any { b := make([]byte, 0, maxPooledInFrame); return &b }}

// copyInFrame copies a frame read into a buffer of its own.
func copyInFrame(data []byte) []byte {
	if len(data) > maxPooledInFrame {
		return append([]byte(nil), data...)
	}
	p := inFrames.Get().(*[]byte)
	b := append((*p)[:0], data...)
	*p = nil
	inFramesHeaders.Put(p)
	return b
}

// putInFrame gives a handled frame's buffer back, if it came from the pool.
// Nothing keeps a frame past its handling (the decoders copy what they keep).
func putInFrame(b []byte) {
	if cap(b) != maxPooledInFrame {
		return
	}
	p := inFramesHeaders.Get().(*[]byte)
	*p = b[:0]
	inFrames.Put(p)
}

// inFramesHeaders recycles the slice headers that carry buffers through
// inFrames, so that neither side allocates one per frame.
var inFramesHeaders = sync.Pool{New: func() any { return new([]byte) }}
