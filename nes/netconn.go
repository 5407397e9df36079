package nes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Buffers of the connections the server takes over. coder/websocket reads
// frames through a bufio.Reader and writes them through a bufio.Writer; the
// ones net/http hands over on Hijack are 4 KiB each and would stay with
// every idle socket. These are small: reads are hello, requests and pings,
// and writes go through corking (below), not through the bufio.Writer.
//
// A socket that can park (read.go) reads through a bufio.Reader of the
// smallest size; its corkConn reads the network in chunks into a pooled
// buffer, given back as soon as it is drained, so that a parked socket holds
// no read buffer.
const (
	connReadBuffer    = 512
	parkedReadBuffer  = 16 // bufio's minimum
	parkedWriteBuffer = 16 // control frames go out in two writes
	connReadChunk     = 4096
	connWriteBuffer   = 160 // holds a whole control frame (at most 131 bytes), written in one piece
	// corkFlushBytes flushes a batch early once this much is buffered.
	corkFlushBytes = 64 << 10
)

// upgradeWriter hands coder/websocket a connection of ours when it hijacks
// the upgrade's ResponseWriter: a corkConn with small buffers.
type upgradeWriter struct {
	http.ResponseWriter
	park bool      // the socket may park: read in pooled chunks
	conn *corkConn // made empty, set up by Hijack
}

// newUpgradeWriter wraps w for websocket.Accept.
func newUpgradeWriter(w http.ResponseWriter, park bool) *upgradeWriter {
	return &upgradeWriter{ResponseWriter: w, park: park, conn: &corkConn{}}
}

// Hijack implements http.Hijacker for websocket.Accept.
func (u *upgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(u.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	cc := u.conn
	cc.Conn = nc
	// Raw reads and writes bypass the connection's own Read and Write:
	// only for a plain TCP connection, not for a type that wraps one.
	if tc, ok := nc.(*net.TCPConn); ok && canTryWrite {
		if rc, err := tc.SyscallConn(); err == nil {
			cc.raw = rc
		}
	}
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent right after the upgrade request.
		b, _ := brw.Reader.Peek(n)
		cc.rdata = bytes.Clone(b)
	}
	rsize, wsize := connReadBuffer, connWriteBuffer
	if u.park && cc.raw != nil {
		cc.chunked = true
		cc.rawReadFn = cc.rawRead
		rsize, wsize = parkedReadBuffer, parkedWriteBuffer
	}
	cc.br = bufio.NewReaderSize(cc, rsize)
	return cc, bufio.NewReadWriter(cc.br, bufio.NewWriterSize(cc, wsize)), nil
}

// pingReceived is coder/websocket's OnPingReceived: once the ping is read,
// the next read starts a frame again and may wait for it with the linger
// (read.go), so that a client's websocket pings do not keep a reader. It is
// a method of the corkConn, not of the upgradeWriter: the websocket keeps
// it, and the upgradeWriter leads to net/http's connection and buffers.
func (c *corkConn) pingReceived(context.Context, []byte) bool {
	if c.afterControl != nil {
		c.afterControl()
	}
	return true // coder/websocket answers with a pong
}

// Unwrap lets http.ResponseController reach the original writer.
func (u *upgradeWriter) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// corkConn is a websocket's network connection. While corked, writes are
// collected in a pooled buffer and go out together at uncork: the frames of
// one writer batch leave in one system call instead of one each. Uncorked,
// writes go straight through (control frames written by the reading side).
//
// A corked flush may have a budget: the server's shared writers must not
// wait for a client that reads slowly. Where the platform allows, a shared
// writer makes one non-blocking attempt (tryWrite); elsewhere the budget is
// a write deadline. A flush that could not write everything keeps the rest
// (errSlowWrite), and the socket's own goroutine writes it, waiting as long
// as the client needs (flushRest, watched by WriteTimeout). Until then every write, control frames
// included, joins the rest, so frames never interleave.
type corkConn struct {
	net.Conn
	// Reading (by one goroutine at a time).
	br      *bufio.Reader // coder/websocket reads through it
	chunked bool          // read the network in chunks into rbuf
	rbuf    *[]byte       // pooled chunk rdata is in
	rdata   []byte        // read from the network (or left by the upgrade), not yet taken
	rerr    error         // of the last rawRead
	// afterControl runs in the reader once a control frame was read.
	afterControl func()
	// rawReadFn is c.rawRead, made once.
	rawReadFn func(fd uintptr) bool

	// The fast path (readframe.go): fastMu is held by the reader while it
	// reads a frame there; fastStop ends it for good; headerWait is set
	// while it waits for a frame header (reader only).
	fastMu     sync.Mutex
	fastStop   atomic.Bool
	headerWait bool

	// Idle reading (read.go): at a frame boundary, a read waits until
	// readDeadline at most, then returns errIdle.
	idleWait     atomic.Bool  // the read in progress starts a frame
	readDeadline atomic.Int64 // the read deadline set (unix nanos); 0: none

	mu      sync.Mutex // orders buffered and direct writes
	corked  bool
	budget  time.Duration // of one corked flush; 0: none
	slow    bool          // buf holds the rest of a flush over budget
	buf     *[]byte
	err     error           // the first failed write
	writing *atomic.Int64   // set to the start of a write in progress (unix nanos), for the watchdog
	raw     syscall.RawConn // for non-blocking attempts (tryWrite); nil: use a deadline

	// tryWrite's state (with mu held): its callback, made once, and the
	// callback's input and results.
	tryWriteFn func(fd uintptr) bool
	twBuf      []byte
	twN        int
	twErr      error
}

// errSlowWrite reports a flush over its budget; the rest is kept.
var errSlowWrite = errors.New("nes: write over budget")

var corkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

var readChunks = sync.Pool{New: func() any { b := make([]byte, connReadChunk); return &b }}

func (c *corkConn) Read(p []byte) (int, error) {
	if len(c.rdata) > 0 {
		n := copy(p, c.rdata)
		c.rdata = c.rdata[n:]
		if len(c.rdata) == 0 {
			c.releaseChunk()
		}
		return n, nil
	}
	if !c.chunked || len(p) >= connReadChunk {
		return c.readNet(p)
	}
	if err := c.readChunk(); err != nil {
		return 0, err
	}
	n := copy(p, c.rdata)
	c.rdata = c.rdata[n:]
	if len(c.rdata) == 0 {
		c.releaseChunk()
	}
	return n, nil
}

// readChunk reads what the network has into a pooled chunk (c.rdata),
// waiting for it first without holding a chunk.
func (c *corkConn) readChunk() error {
	for {
		c.rerr = nil
		err := c.raw.Read(c.rawReadFn)
		if err == nil {
			err = c.rerr
		}
		if len(c.rdata) > 0 {
			if c.idleWait.Load() {
				c.idleWait.Store(false)
			}
			return nil
		}
		if err == nil {
			return io.EOF
		}
		if retry, err := c.deadlinePassed(err); !retry {
			return err
		}
	}
}

// releaseChunk gives the read chunk back to the pool.
func (c *corkConn) releaseChunk() {
	c.rdata = nil
	if c.rbuf != nil {
		readChunks.Put(c.rbuf)
		c.rbuf = nil
	}
}

// readNet reads from the network. A read at a frame boundary that waited
// until the linger's deadline returns errIdle (read.go); a deadline that
// passes inside a frame, or once the socket is closing, is removed and the
// read goes on.
func (c *corkConn) readNet(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if err == nil || n > 0 {
			if n > 0 && c.idleWait.Load() {
				c.idleWait.Store(false)
			}
			return n, err
		}
		if retry, err := c.deadlinePassed(err); !retry {
			return 0, err
		}
	}
}

// deadlinePassed looks at a read's error: the linger's deadline at a frame
// boundary is errIdle; elsewhere (inside a frame, or once the socket is
// closing) the deadline is removed and the read is retried.
//
// Once the fast path is stopped (stopFastFrames), a passed deadline is the
// one that interrupted it, or the linger's: it is removed, and a wait for a
// frame header on the fast path ends with errFastStop.
func (c *corkConn) deadlinePassed(err error) (retry bool, _ error) {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false, err
	}
	if c.fastStop.Load() {
		c.readDeadline.Store(0)
		if err := c.Conn.SetReadDeadline(time.Time{}); err != nil {
			return false, err
		}
		if c.headerWait {
			return false, errFastStop
		}
		return true, nil
	}
	if c.readDeadline.Load() == 0 {
		return false, err
	}
	if c.idleWait.CompareAndSwap(true, false) {
		return false, errIdle // nothing of a frame read: the socket is idle
	}
	c.readDeadline.Store(0)
	if err := c.Conn.SetReadDeadline(time.Time{}); err != nil {
		return false, err
	}
	return true, nil
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.buf == nil { // neither corked nor holding a rest
		c.watch(true)
		n, err := c.Conn.Write(p)
		c.watch(false)
		c.err = err
		return n, err
	}
	*c.buf = append(*c.buf, p...)
	if c.corked && !c.slow && len(*c.buf) >= corkFlushBytes {
		if err := c.flushLocked(); err != nil && err != errSlowWrite {
			return 0, err
		}
	}
	return len(p), nil
}

// cork starts collecting writes; a flush until uncork may block for at most
// budget (0: no limit).
func (c *corkConn) cork(budget time.Duration) {
	c.mu.Lock()
	c.corked = true
	c.budget = budget
	if c.buf == nil {
		c.buf = corkBuffers.Get().(*[]byte)
	}
	c.mu.Unlock()
}

// uncork writes what was collected and lets writes through again. It
// returns errSlowWrite when the budget ran out: the rest stays, for
// flushRest.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.flushLocked()
	c.corked = false
	if err == errSlowWrite {
		return err
	}
	c.releaseLocked()
	return err
}

// flushRest writes the rest a flush over budget left, without a budget.
func (c *corkConn) flushRest() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		return c.err
	}
	c.budget, c.slow = 0, false
	err := c.flushLocked()
	c.releaseLocked()
	return err
}

func (c *corkConn) releaseLocked() {
	if c.buf == nil {
		return
	}
	if cap(*c.buf) <= corkFlushBytes*2 {
		*c.buf = (*c.buf)[:0]
		corkBuffers.Put(c.buf)
	}
	c.buf = nil
}

func (c *corkConn) watch(start bool) {
	if c.writing == nil {
		return
	}
	if start {
		c.writing.Store(time.Now().UnixNano())
	} else {
		c.writing.Store(0)
	}
}

func (c *corkConn) flushLocked() error {
	if c.err != nil {
		return c.err
	}
	if c.slow {
		return errSlowWrite
	}
	if len(*c.buf) == 0 {
		return nil
	}
	if c.budget > 0 && c.raw != nil {
		// A shared writer: one attempt, without waiting for the client.
		n, err := c.tryWrite(*c.buf)
		if err == nil && n < len(*c.buf) {
			return c.keepRest(n)
		}
		c.err = err
		*c.buf = (*c.buf)[:0]
		return err
	}
	if c.budget > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.budget))
	}
	c.watch(true)
	n, err := c.Conn.Write(*c.buf)
	c.watch(false)
	if c.budget > 0 {
		_ = c.Conn.SetWriteDeadline(time.Time{})
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			return c.keepRest(n)
		}
	}
	c.err = err
	*c.buf = (*c.buf)[:0]
	return err
}

// keepRest keeps what a flush over budget left after its first n bytes.
func (c *corkConn) keepRest(n int) error {
	rest := copy(*c.buf, (*c.buf)[n:])
	*c.buf = (*c.buf)[:rest]
	c.slow = true
	return errSlowWrite
}

// writeMessage adds p to the batch as one unfragmented, unmasked websocket
// data frame (RFC 6455 §5.2), text or binary. The socket's writer uses it
// instead of the websocket library's Write when no extension is in use: the
// frame is what the library would write, without its per-frame locking.
// Control frames (pong, close) still come from the library, whole, through
// Write, so frames never interleave. It must be called while corked.
func (c *corkConn) writeMessage(binaryFrame bool, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if !c.corked {
		return errors.New("nes: writeMessage on an uncorked connection")
	}
	op := byte(0x1) // text
	if binaryFrame {
		op = 0x2
	}
	b := append(*c.buf, 0x80|op) // FIN
	switch n := len(p); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	*c.buf = append(b, p...)
	if !c.slow && len(*c.buf) >= corkFlushBytes {
		if err := c.flushLocked(); err != errSlowWrite {
			return err
		}
	}
	return nil
}
