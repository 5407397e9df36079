package nes

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/coder/websocket"
)

// Reading a socket.
//
// Each socket has at most one reader at a time: a goroutine that reads frames
// and handles them, itself or through a handler goroutine (readLoop). Most sockets are idle
// most of the time, and a goroutine blocked in a read holds a stack of a few
// kilobytes, more than the rest of an idle socket. So where the server has a
// poller (Linux, plain TCP connections), a reader that has waited readLinger
// for a frame parks the socket: it hands the connection to the poller and
// ends. The poller starts a new reader once the connection is readable, and
// every way of closing a socket starts one too, so that the socket is torn
// down by a reader as always.
//
// Waiting is done by the read itself, with a read deadline at a frame
// boundary: busy sockets make no extra system call. A deadline that passes
// inside a frame is not an idle socket: the read is retried without one
// (corkConn.deadlinePassed).

// defaultReadLinger is how long a reader waits for a frame before the socket
// parks.
const defaultReadLinger = 500 * time.Millisecond

// errIdle is what a read at a frame boundary returns when the reader waited
// readLinger: the socket may park.
var errIdle = errors.New("nes: no frame within the read linger")

// Reader states (Socket.readState).
const (
	readRunning = iota // a reader goroutine owns the connection's reading
	readParking        // the reader is registering the connection with the poller
	readParked         // no reader: the poller watches the connection
	readWake           // asked to wake while parking: the parker reads on
)

// maxPendingFrames bounds the inbound frames read but not yet handled; a
// client that pipelines more waits (the reader stops reading).
const maxPendingFrames = 8

// serveReads runs the socket's reader until the socket parks or its
// connection ends; in the latter case the socket is torn down here.
func (sock *Socket) serveReads() {
	if sock.readLoop() {
		return // parked, or the reading went to another reader
	}
	sock.cancel()
	sock.handlers.Wait()
	sock.srv.teardown(sock)
	sock.srv.wg.Done() // taken by ServeHTTP for the socket's life
}

// readLoop reads frames until the connection fails or closes (false), or the
// socket parks or its reading goes to another reader (true), and handles
// them.
//
// By default each frame goes to the server's shared handlers (handlers.go),
// so reading goes on while a message is being handled: a close from the
// client is seen at once and ends the socket's context, which the handler
// (a chi route, a hook) observes.
//
// With Options.HandleInline, a frame that finds no handler running is
// handled by the reader itself (inline), which saves two hand-offs per
// message. If that takes longer than stealAfter, the server's watch
// (stealwatch.go) gives the reading to a new reader and the old one goes on
// as the socket's handler.
//
// done is true when the goroutine must end without tearing the socket down:
// the socket parked, or its reading was given to another reader.
func (sock *Socket) readLoop() (done bool) {
	var scratch bytes.Buffer
	for {
		sock.beforeRead()
		data, err := sock.readMessage(&scratch)
		if err != nil {
			if errors.Is(err, errIdle) {
				if sock.park() {
					return true
				}
				continue
			}
			return false
		}
		sock.active.Store(true)
		sock.processing.Add(1)
		if sock.in == nil {
			// Made at the first frame; the handlers are the only other
			// users (parking drops it while idle).
			sock.in = make(chan []byte, maxPendingFrames)
		}
		if sock.srv.handlers == nil {
			if sock.readInline(data) {
				return true // now a handler; another goroutine reads
			}
			continue
		}
		// A full queue waits for the handler, which drains it even once
		// the socket is closing. The frame is in the reader's buffer,
		// which the next read reuses: the queue gets a copy.
		sock.in <- copyInFrame(data)
		if sock.handling.CompareAndSwap(false, true) {
			sock.handlers.Add(1)
			sock.srv.handlers.submit(sock)
		}
	}
}

// readInline is the reader's part with Options.HandleInline: it handles
// data itself if no handler is running, else queues it for the socket's
// handler goroutine, started if need be. It reports whether the reading
// went to another reader (the frame was stolen: see handleInline).
func (sock *Socket) readInline(data []byte) (stolen bool) {
	handler := sock.handling.CompareAndSwap(false, true)
	if handler && len(sock.in) == 0 {
		return !sock.handleInline(data)
	}
	sock.in <- copyInFrame(data)
	if handler || sock.handling.CompareAndSwap(false, true) {
		sock.handlers.Add(1)
		go sock.handleLoop(sock.in)
	}
	return false
}

// readMessage reads the next message. Over a websocket connection it reads
// into the reader's scratch buffer and returns it, valid until the next
// read: a frame handled at once needs no copy, since the decoders keep
// nothing of the frame they decode (websocket.Conn.Read would allocate every
// message, starting at 512 bytes).
func (sock *Socket) readMessage(scratch *bytes.Buffer) ([]byte, error) {
	c, ok := sock.conn.(*websocket.Conn)
	if !ok {
		// No context: abort closes the connection, which ends the read.
		_, data, err := sock.conn.Read(context.Background())
		return data, err
	}
	data, err := sock.readFrame(c, scratch)
	if err != nil {
		return nil, err
	}
	if scratch.Cap() > maxScratch {
		// A large message's buffer is not kept past this message.
		*scratch = bytes.Buffer{}
	}
	return data, nil
}

// readFrame reads the next message into scratch: on the fast path
// (readframe.go) if it is one whole data frame, else with coder/websocket's
// Reader.
func (sock *Socket) readFrame(c *websocket.Conn, scratch *bytes.Buffer) ([]byte, error) {
	if cc := sock.cork; cc != nil {
		data, ok, err := cc.readDataFrame(scratch, sock.srv.opts.MaxMessageBytes)
		if ok || err != nil {
			return data, err
		}
	}
	_, r, err := c.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	scratch.Reset()
	if _, err := scratch.ReadFrom(r); err != nil {
		return nil, err
	}
	return scratch.Bytes(), nil
}

// maxScratch bounds the read buffer a reader keeps between messages.
const maxScratch = 64 << 10

// defaultStealAfter is how long a reader handles a frame itself before a
// new reader takes over the reading.
const defaultStealAfter = 2 * time.Millisecond

// handleInline handles data in the reader, which holds the handler role
// (handling). It reports whether the caller is still the reader; if not,
// it has also finished as a handler (frames the new reader queued meanwhile
// included).
func (sock *Socket) handleInline(data []byte) bool {
	word := sock.srv.watch.begin(sock)
	if sock.ctx.Err() == nil {
		sock.handleFrame(data)
	}
	sock.processing.Add(-1)
	if sock.endInline(word) {
		sock.handling.Store(false)
		return true
	}
	// Stolen: steal counted this goroutine among the handlers; the new
	// reader queues to the frames channel while this one holds the handler
	// role (so that it cannot park and drop the channel).
	for sock.inline.Load()&inlineStateMask == inlineStealing {
		runtime.Gosched() // steal is between two atomic operations
	}
	in := sock.in
	// Nothing else changes the word in state inlineStolen: the watch
	// leaves it alone and the new reader handles nothing inline until this
	// goroutine gives up the handler role.
	sock.inline.Store(sock.inline.Load()&^inlineStateMask | inlineNone)
	sock.handleLoop(in)
	return false
}

// steal runs when the frame that the reader began with word has been
// handled for longer than stealAfter (stealwatch.go): a new reader takes
// over, and the old one finishes as a handler.
func (sock *Socket) steal(word int64) {
	if h := sock.srv.handlers; h != nil {
		// A shared handler (handlers.go): another one takes over the FIFO,
		// and this one ends once it has handled the frame.
		if sock.inline.CompareAndSwap(word, word&^inlineStateMask|inlineStolen) {
			if hook := sock.srv.testHookSteal; hook != nil {
				hook()
			}
			h.gaveUp()
		}
		return
	}
	if !sock.inline.CompareAndSwap(word, word&^inlineStateMask|inlineStealing) {
		return // done meanwhile
	}
	if h := sock.srv.testHookSteal; h != nil {
		h()
	}
	// The old reader waits for inlineStolen before it finishes as a
	// handler, so the count never drops below zero. It is still inside
	// handleInline: the count is not being waited on.
	sock.handlers.Add(1)
	sock.inline.Store(word&^inlineStateMask | inlineStolen)
	go sock.serveReads()
}

// beforeRead prepares the next read: when nothing of the next frame is
// buffered and the socket may park, the read waits at most readLinger for
// it and then returns errIdle. The read deadline is moved forward only when
// less than half the linger is left, so a busy socket rarely touches it.
func (sock *Socket) beforeRead() {
	c := sock.cork
	if !sock.parkable {
		return
	}
	sock.readGate.Lock()
	defer sock.readGate.Unlock()
	if sock.readClosing {
		return
	}
	if len(c.rdata) > 0 || c.br.Buffered() > 0 {
		c.idleWait.Store(false)
		return
	}
	now := time.Now().UnixNano()
	linger := int64(sock.srv.readLinger)
	if d := c.readDeadline.Load(); d-now < linger/2 {
		if err := c.Conn.SetReadDeadline(time.Unix(0, now+linger)); err != nil {
			return // the connection is closed: the read says so
		}
		c.readDeadline.Store(now + linger)
	}
	c.idleWait.Store(true)
}

// park hands the connection to the poller and reports whether the caller
// must end (true) or read on (false: the socket is closing, the connection
// became readable while parking, or the poller refused it).
func (sock *Socket) park() bool {
	sock.readGate.Lock()
	if sock.readClosing {
		sock.readGate.Unlock()
		return false
	}
	sock.readState.Store(readParking)
	sock.readGate.Unlock()
	// What an idle socket does not need: the frames channel and the reply
	// buffers (no handler runs: none is started but by a reader) and the
	// write queue.
	if !sock.handling.Load() && len(sock.in) == 0 {
		sock.in = nil
		sock.replyBuf = nil
	}
	sock.releaseQueue()
	if err := sock.poller.arm(sock); err != nil {
		sock.srv.log.Debug("nes: cannot park socket", "socket", sock.id, "error", err)
		sock.parkable = false
		sock.clearReadDeadline()
		sock.readState.Store(readRunning)
		return false
	}
	if sock.readState.CompareAndSwap(readParking, readParked) {
		sock.srv.stats.parked.Add(1)
		return true
	}
	// Woken while parking (readWake): read on.
	sock.readState.Store(readRunning)
	return false
}

// resumeReading starts a reader for a parked socket, or tells one that is
// parking to read on. The poller calls it when the connection is readable,
// and the closing paths do so that the socket is torn down.
func (sock *Socket) resumeReading() {
	for {
		switch sock.readState.Load() {
		case readParked:
			if sock.readState.CompareAndSwap(readParked, readRunning) {
				sock.srv.stats.parked.Add(-1)
				go sock.serveReads()
				return
			}
		case readParking:
			if sock.readState.CompareAndSwap(readParking, readWake) {
				return
			}
		default:
			return
		}
	}
}

// stopParking is called before the connection is closed: from now on the
// reader reads without a linger (so that it receives the client's close
// frame, or the error of the closed connection) and never parks, and a
// parked socket gets a reader again.
func (sock *Socket) stopParking() {
	if sock.poller == nil {
		return
	}
	sock.readGate.Lock()
	sock.readClosing = true
	if sock.cork != nil {
		sock.cork.idleWait.Store(false)
	}
	sock.readGate.Unlock()
	sock.resumeReading()
}

// clearReadDeadline removes the linger's read deadline, if set.
func (sock *Socket) clearReadDeadline() {
	c := sock.cork
	if c.readDeadline.Swap(0) != 0 {
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
	c.idleWait.Store(false)
}

// handleLoop handles queued frames one at a time, in order, and ends when the
// queue is empty: an idle socket has no handler goroutine.
func (sock *Socket) handleLoop(in chan []byte) {
	defer sock.handlers.Done()
	for {
		select {
		case data := <-in:
			if sock.ctx.Err() == nil {
				sock.handleFrame(data)
			}
			sock.processing.Add(-1)
			putInFrame(data)
			continue
		default:
		}
		if !sock.releaseHandler(in) {
			return
		}
	}
}

// releaseHandler gives up the socket's handler role once in looked empty.
// It reports true if a frame was queued meanwhile by a reader that saw the
// role still held: the caller then holds the role again and handles it.
func (sock *Socket) releaseHandler(in chan []byte) (kept bool) {
	sock.handling.Store(false)
	return len(in) > 0 && sock.handling.CompareAndSwap(false, true)
}
