package nes

import (
	"sync"
	"sync/atomic"
	"time"
)

// Noticing a frame that has been handled for too long.
//
// By default a frame is handled by one of the server's shared handlers
// (handlers.go); if it takes longer than stealAfter, another handler takes
// over the FIFO (handlers.gaveUp). With Options.HandleInline, a reader
// handles most frames itself (handleInline); if one takes longer than
// stealAfter, the reading goes to a new reader. Both are a steal. A timer per
// frame did that, but resetting and stopping a timer for every message cost
// the request tail about 0.1 ms at p99 (docs/benchmarks.md). Instead, one
// goroutine per server ticks every half stealAfter while some socket is
// listed, and a reader only stamps the tick at which its frame started in
// the socket's inline word: one load and one compare-and-swap per frame.
//
// The inline word (Socket.inline) packs, from the low bits up:
//
//	bits 0-1  the inline state: inlineNone, inlineRunning, inlineStealing, inlineStolen
//	bit  2    inlineListed: the socket is in the watch's list
//	bits 3-   the tick at which the frame being (or last) handled started
//
// "Inline" below is either: a frame handled by the reader or by a shared
// handler, which holds the socket's handler role.
//
// A socket is listed by its reader at its first inline frame and unlisted by
// the watch once it has started none for watchQuiet ticks, so the watch
// looks only at sockets that are busy. Both changes of the listed bit are
// made under the watch's lock, and the watch unlists a socket only from the
// inlineNone state with a compare-and-swap, so a reader that starts a frame
// meanwhile either keeps the socket listed or lists it again.

// Inline states (the low bits of Socket.inline).
const (
	inlineNone     = iota
	inlineRunning  // the reader is handling a frame
	inlineStealing // steal is counting the reader as a handler
	inlineStolen   // and the reading went to a new reader

	inlineStateMask = 3
	inlineListed    = 4
	inlineTickShift = 3
)

// watchQuiet is how many ticks without a frame a socket stays listed. The
// goroutine ends with the last listed socket, so a server whose messages
// are rarer than one per watchQuiet ticks starts it for each message and
// wakes at most watchQuiet times for it; a busier one keeps it, waking
// once a tick (a thousand times a second at the default stealAfter).
const watchQuiet = 16

// maxIdleWatchList bounds the list's capacity kept while no socket is
// listed.
const maxIdleWatchList = 1024

// minWatchTick bounds how often the watch wakes, whatever stealAfter is.
const minWatchTick = 20 * time.Microsecond

// stealWatch is a server's watch over frames handled inline. Its goroutine
// runs while some socket is listed and the server is not shut down.
type stealWatch struct {
	srv *Server

	now atomic.Int64 // ticks counted since the watch was made; moved on under mu

	mu      sync.Mutex
	socks   []*Socket
	running bool
	stopped bool
	quit    chan struct{}  // made by New, closed by stop: the goroutine need not wait for a tick
	wg      sync.WaitGroup // the goroutine
}

// interval is the time between ticks: half of stealAfter.
func (w *stealWatch) interval() time.Duration {
	return max(w.srv.stealAfter/2, minWatchTick)
}

// begin marks the start of an inline frame on sock and returns the inline
// word to pass to endInline. Only the goroutine handling the socket's
// frame (its reader, or the shared handler holding its role) calls it, in state
// inlineNone.
func (w *stealWatch) begin(sock *Socket) int64 {
	old := sock.inline.Load()
	if old&inlineListed != 0 {
		word := w.now.Load()<<inlineTickShift | inlineListed | inlineRunning
		if sock.inline.CompareAndSwap(old, word) {
			return word
		}
		// Unlisted meanwhile: list it again.
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	word := w.now.Load()<<inlineTickShift | inlineListed | inlineRunning
	sock.inline.Store(word)
	w.socks = append(w.socks, sock)
	if !w.running && !w.stopped {
		w.running = true
		w.wg.Add(1)
		go w.run()
	}
	return word
}

// endInline marks the end of the inline frame begun with word. It reports false
// if the frame was stolen meanwhile: the caller is then a handler, no longer
// the reader.
func (sock *Socket) endInline(word int64) bool {
	return sock.inline.CompareAndSwap(word, word&^inlineStateMask|inlineNone)
}

// stealCandidate is a frame found running too long, by the inline word it
// was begun with.
type stealCandidate struct {
	sock *Socket
	word int64
}

// run ticks until no socket is listed or the watch is stopped, stealing the
// frames stamped at least three ticks before the current one: begun before
// the end of that tick's interval, they have run for more than two
// intervals, that is stealAfter (and less than three).
func (w *stealWatch) run() {
	defer w.wg.Done()
	ticker := time.NewTicker(w.interval())
	defer ticker.Stop()
	var steals []stealCandidate
	for {
		select {
		case <-ticker.C:
		case <-w.quit:
		}
		steals = steals[:0]
		w.mu.Lock()
		if w.stopped {
			w.running = false
			w.mu.Unlock()
			return
		}
		now := w.now.Add(1)
		kept := w.socks[:0]
		for _, sock := range w.socks {
			word := sock.inline.Load()
			started := word >> inlineTickShift
			switch word & inlineStateMask {
			case inlineRunning:
				if now-started >= 3 {
					steals = append(steals, stealCandidate{sock, word})
				}
			case inlineNone:
				if now-started >= watchQuiet &&
					sock.inline.CompareAndSwap(word, word&^inlineListed) {
					continue // unlisted
				}
			}
			kept = append(kept, sock)
		}
		clear(w.socks[len(kept):])
		w.socks = kept
		if len(kept) == 0 {
			if cap(w.socks) > maxIdleWatchList {
				w.socks = nil // a burst of sockets listed once
			}
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		for _, c := range steals {
			c.sock.steal(c.word)
		}
	}
}

// stop ends the watch's goroutine and waits for it; a socket listed after
// this is never stolen from. Shutdown calls it once every socket has ended.
func (w *stealWatch) stop() {
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		close(w.quit)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
