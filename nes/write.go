package nes

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/nes-go/nes/protocol"
)

// Close codes the server sends. The official client reconnects after any of
// them; they tell logs and native clients why.
const (
	// CloseSlowConsumer closes a socket whose queue of unwritten frames went
	// over Options.MaxQueueBytes.
	CloseSlowConsumer websocket.StatusCode = 4008
	// CloseHelloTimeout closes a socket that sent no successful hello within
	// Options.HelloTimeout.
	CloseHelloTimeout websocket.StatusCode = 4001
	// CloseHeartbeatTimeout closes a socket silent for a heartbeat interval
	// plus its timeout.
	CloseHeartbeatTimeout websocket.StatusCode = 4002
	// CloseAuthExpired closes a socket whose credentials expired (token exp,
	// cookie TTL).
	CloseAuthExpired websocket.StatusCode = 4003
	// CloseAuthRevoked closes a socket whose credentials failed
	// re-verification (Auth.Verify) or whose reauth failed.
	CloseAuthRevoked websocket.StatusCode = 4004
	// CloseTooManyConnections closes an upgrade over Options.MaxConnections.
	CloseTooManyConnections = websocket.StatusTryAgainLater
	closeGoingAway          = websocket.StatusGoingAway
)

type outFrame struct {
	data []byte // shared with other sockets: never modified
}

// isPing reports whether f is the heartbeat's ping, which is not activity:
// the server's one ping frame per codec, recognized by its address.
func (s *Socket) isPing(f outFrame) bool {
	ping := s.srv.codecs[s.codecIdx].ping
	return len(f.data) == len(ping) && len(ping) > 0 && &f.data[0] == &ping[0]
}

type closeRequest struct {
	code   websocket.StatusCode
	reason string
	abort  bool // drop the connection without a close handshake
}

// outQueue is a socket's outbound queue, bounded in bytes. A writer
// goroutine drains it and ends when it is empty: an idle socket has no
// writer. At most one writer runs at a time.
//
// A fan-out pushes to every subscriber in turn, each push missing the
// cache: what a push reads and writes (up to finished, and the codec
// index) fits in one 64-byte cache line, for the queue comes first in a
// Socket, whose size class is a multiple of 64 bytes.
type outQueue struct {
	mu       sync.Mutex
	list     frameList
	bytes    int
	closing  *closeRequest
	running  bool  // a writer goroutine is draining the queue
	finished bool  // the connection was closed by the writer: no writer starts again
	codec    uint8 // the socket's codec index (Socket.codecIdx)

	dropped      atomic.Bool   // queue discarded: stop writing what was taken already
	writingSince atomic.Int64  // unix nanos of the write in progress, 0 if idle
	done         chan struct{} // closed when the connection was closed by the writer
}

// enqueue appends a frame for the writer. A socket whose queue would exceed
// MaxQueueBytes is closed with CloseSlowConsumer.
func (s *Socket) enqueue(frame []byte) error {
	_, err := s.push(frame, pushSubmit)
	return err
}

// enqueueReply is enqueue for a reply, called by the goroutine handling the
// socket's message. When no writer is serving the socket, that goroutine
// writes the queue itself, which saves the reply the hop to a writer: with
// Options.HandleInline always (it serves this socket alone), and on a shared
// handler (handlers.go) when no other socket waits for a handler, as the
// handler has nothing else to do. While others wait, a shared handler
// leaves the reply to the writers and goes on. It reports whether the
// socket holds no reference to frame on return (it was written, or
// refused), so that the caller may reuse its buffer.
func (s *Socket) enqueueReply(frame []byte) (released bool) {
	mode := pushInline
	if h := s.srv.handlers; h != nil && !(s.onHandler.Load() && h.noneWaiting()) {
		mode = pushSubmit
	}
	released, _ = s.push(frame, mode)
	return released
}

// fanOut enqueues one frame to many sockets. A socket that must be handed
// to the writers is collected instead, for one submitAll once every socket
// has its frame: writers then do not chase the fan-out socket by socket,
// and the fan-out takes the writers' lock once, not per socket. finish must
// run, or the sockets collected would never be written.
type fanOut struct {
	srv    *Server
	readyp *[]*Socket
	ready  []*Socket
}

func newFanOut(srv *Server) *fanOut {
	p := socketSlices.Get().(*[]*Socket)
	return &fanOut{srv: srv, readyp: p, ready: (*p)[:0]}
}

// enqueue is sock.enqueue for the fan-out (a closed or slow socket is
// accounted for by push).
func (f *fanOut) enqueue(sock *Socket, frame []byte) {
	if _, err := sock.push(frame, pushDeferred); err == errDeferred {
		f.ready = append(f.ready, sock)
	}
}

// finish hands the sockets collected to the writers.
func (f *fanOut) finish() {
	f.srv.writers.submitAll(f.ready)
	putSockets(f.readyp, f.ready)
}

// Ways of push to get a socket written.
const (
	pushSubmit   = iota // hand it to the writers
	pushInline          // write it in the caller, if no writer serves it
	pushDeferred        // leave it to the caller (errDeferred)
)

// errDeferred is push's answer in pushDeferred mode when the caller must
// hand the socket to the writers.
var errDeferred = errors.New("nes: socket to submit")

// inlineBatches bounds the batches enqueueReply writes before it hands the
// socket to the shared writers.
const inlineBatches = 4

// push queues frame and gets the socket written as mode says. released
// reports that the socket holds no reference to frame on return: it was
// refused, or written by the caller (pushInline: each writeOnce takes the
// whole queue, and a batch's frames are copied to the connection or dropped
// by the time it returns).
func (s *Socket) push(frame []byte, mode int) (released bool, err error) {
	q := &s.out
	q.mu.Lock()
	if q.closing != nil {
		q.mu.Unlock()
		return true, ErrSocketClosed
	}
	if q.bytes+len(frame) > s.srv.opts.MaxQueueBytes {
		dropped := q.list.take()
		q.bytes = 0
		q.dropped.Store(true)
		q.closing = &closeRequest{code: CloseSlowConsumer, reason: "slow consumer"}
		s.closed.Store(true)
		s.startWriterLocked()
		q.mu.Unlock()
		putChunks(dropped)
		s.cancel()
		s.srv.stats.slow.Add(1)
		s.srv.log.Warn("nes: closing slow consumer", "socket", s.id)
		return true, ErrSlowConsumer
	}
	q.list.push(outFrame{data: frame})
	q.bytes += len(frame)
	if mode == pushDeferred && !q.running && !q.finished {
		q.running = true
		q.mu.Unlock()
		return false, errDeferred
	}
	if mode != pushInline || q.running || q.finished {
		s.startWriterLocked()
		q.mu.Unlock()
		return false, nil
	}
	q.running = true
	q.mu.Unlock()
	for i := 1; s.writeOnce(sharedWriteBudget); i++ {
		if i == inlineBatches {
			s.srv.writers.submit(s) // still running: the writers take over
			break
		}
	}
	return true, nil
}

// startWriterLocked hands the socket to the server's writers unless it is
// already with them or its connection is closed. Called with s.out.mu held.
func (s *Socket) startWriterLocked() {
	q := &s.out
	if q.running || q.finished {
		return
	}
	q.running = true
	s.srv.writers.submit(s)
}

// closeAfterQueue closes the socket with code once the frames already queued
// are written. Later frames are refused.
func (s *Socket) closeAfterQueue(code websocket.StatusCode, reason string) {
	s.requestClose(&closeRequest{code: code, reason: reason})
}

// abort drops the connection at once, without writing what is queued. It
// closes the network connection itself, so a write in progress ends too.
func (s *Socket) abort() {
	s.requestClose(&closeRequest{abort: true})
	s.stopParking()
	_ = s.conn.CloseNow()
}

func (s *Socket) requestClose(c *closeRequest) {
	q := &s.out
	q.mu.Lock()
	switch {
	case q.closing == nil:
		q.closing = c
	case c.abort && !q.closing.abort:
		q.closing = c
	default:
		q.mu.Unlock()
		return
	}
	var dropped *frameChunk
	if c.abort {
		dropped = q.list.take()
		q.bytes = 0
		q.dropped.Store(true)
	}
	s.startWriterLocked()
	q.mu.Unlock()
	putChunks(dropped)
	s.closed.Store(true)
	s.cancel()
}

// releaseQueue drops the chunk an idle queue keeps if the socket has
// nothing to write: a parked socket holds no queue memory.
func (s *Socket) releaseQueue() {
	q := &s.out
	q.mu.Lock()
	if !q.running && q.list.empty() {
		q.list.release()
	}
	q.mu.Unlock()
}

// writeOnce writes the frames queued now as one batch, or closes the
// connection once the queue is empty and a close was requested. budget
// bounds how long the batch's write may block (0: no bound; see corkConn).
// It reports whether the socket must be served again (frames or a close
// came while the batch was written); false means it went idle, was closed,
// or was handed to a goroutine of its own (a close handshake, or a client
// too slow for the budget). Only one writer serves a socket at a time.
func (s *Socket) writeOnce(budget time.Duration) bool {
	q := &s.out
	q.mu.Lock()
	batch := q.list.take()
	closing := q.closing
	if batch == nil {
		if closing != nil {
			q.finished = true
			q.mu.Unlock()
			// The close handshake waits for the client: not on a shared
			// writer.
			s.srv.wg.Add(1)
			go func() {
				defer s.srv.wg.Done()
				s.finishClose(closing)
				close(q.done)
			}()
			return false
		}
		q.idleLocked()
		q.mu.Unlock()
		return false
	}
	q.dropped.Store(false)
	q.mu.Unlock()

	// The batch's bytes stay counted against MaxQueueBytes until it is
	// written: the bound covers everything not yet on the wire.
	typ := websocket.MessageText
	if s.codec.Binary() {
		typ = websocket.MessageBinary
	}
	switch s.writeBatch(typ, batch, s.srv.opts.MaxChunkChars, budget) {
	case batchWritten:
		return true
	case batchIdle:
		return false
	case batchSlow:
		s.srv.wg.Add(1)
		go s.writeAlone()
		return false
	default:
		s.writeFailed()
		return false
	}
}

// writeAlone serves a socket whose client reads too slowly for the shared
// writers, on its own goroutine and without a budget, until its queue is
// empty; the watchdog (WriteTimeout) still applies to every write.
func (s *Socket) writeAlone() {
	defer s.srv.wg.Done()
	if err := s.cork.flushRest(); err != nil {
		s.writeFailed()
		return
	}
	for s.writeOnce(0) {
	}
}

// writeFailed drops a connection whose write failed.
func (s *Socket) writeFailed() {
	q := &s.out
	q.mu.Lock()
	q.finished = true
	q.mu.Unlock()
	s.stopParking()
	s.conn.CloseNow()
	close(q.done)
}

// Outcomes of writeBatch.
const (
	batchWritten = iota // and more is queued
	batchIdle           // written, and nothing more: the socket went idle
	batchSlow           // written but for a rest, which the connection keeps
	batchFailed
)

// idleLocked ends the socket's turn with the writers. Called with q.mu held
// and nothing queued.
func (q *outQueue) idleLocked() {
	q.running = false
}

// writeBatch writes frames through the corked connection, so that they
// leave together.
func (s *Socket) writeBatch(typ websocket.MessageType, batch *frameChunk, maxChunk int, budget time.Duration) int {
	q := &s.out
	written := 0
	if s.cork != nil {
		s.cork.cork(budget)
	}
	result := batchWritten
frames:
	for c := batch; c != nil; c = c.next {
		for i := range c.frames[:c.n] {
			f := c.frames[i]
			if !s.writeFrame(typ, f, maxChunk) {
				result = batchFailed
				break frames
			}
			written += len(f.data)
			c.frames[i] = outFrame{}
			if q.dropped.Load() {
				break frames
			}
		}
	}
	if s.cork != nil {
		switch err := s.cork.uncork(); {
		case err == errSlowWrite && result == batchWritten:
			result = batchSlow
		case err != nil && err != errSlowWrite:
			result = batchFailed
		}
	}
	emptyChunks(batch)
	q.mu.Lock()
	if !q.dropped.Load() {
		q.bytes -= written
	}
	rest := q.list.keepOne(batch)
	if result == batchWritten && q.list.empty() && q.closing == nil {
		// Nothing came meanwhile: idle now, rather than after one more
		// turn in the writers' FIFO.
		q.idleLocked()
		result = batchIdle
	}
	q.mu.Unlock()
	putChunks(rest)
	return result
}

// writeFrame writes one frame (in chunks when MaxChunkChars asks for it) and
// reports success. The heartbeat watchdog aborts a write that takes longer
// than WriteTimeout.
func (s *Socket) writeFrame(typ websocket.MessageType, f outFrame, maxChunk int) bool {
	q := &s.out
	write := func(p []byte) error {
		if s.directFrames {
			return s.cork.writeMessage(typ == websocket.MessageBinary, p)
		}
		return s.conn.Write(context.Background(), typ, p)
	}
	if !s.directFrames {
		q.writingSince.Store(time.Now().UnixNano())
	}
	var err error
	if maxChunk > 0 && !s.codec.Binary() {
		if chunks := protocol.Chunks(f.data, maxChunk); chunks != nil {
			for _, c := range chunks {
				if err = write(c); err != nil {
					break
				}
			}
		} else {
			err = write(f.data)
		}
	} else {
		err = write(f.data)
	}
	if !s.directFrames {
		q.writingSince.Store(0)
	}
	if err != nil {
		return false
	}
	if !s.isPing(f) {
		s.active.Store(true)
	}
	return true
}

// stuckWrite reports whether a write has been in progress since before
// deadline.
func (s *Socket) stuckWrite(deadline int64) bool {
	since := s.out.writingSince.Load()
	return since != 0 && since < deadline
}

func (s *Socket) finishClose(c *closeRequest) {
	s.stopParking()
	if c.abort {
		s.conn.CloseNow()
		return
	}
	// Close writes the close frame and waits (at most 5 s) for the client's,
	// reading under coder/websocket's read lock, which the reader's fast
	// path does not take: the reader leaves it first.
	if cc := s.cork; cc != nil && !cc.stopFastFrames(s.srv.fastStopWait, func() { s.conn.CloseNow() }) {
		return
	}
	// The read loop receives the client's close frame and ends.
	_ = s.conn.Close(c.code, c.reason)
}

// stopWriter makes the writer drop the connection and waits until it has.
func (s *Socket) stopWriter() {
	s.requestClose(&closeRequest{abort: true})
	<-s.out.done
}
