package nes

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"time"
)

// Reading data frames without coder/websocket.
//
// Almost every frame a client sends is a whole message in one masked text or
// binary frame. The reader parses those itself from the connection's
// buffered reader (which is ours: corkConn.br): one look at the header, one
// read of the payload, unmasked in place. coder/websocket's Reader takes its
// read lock (a select over three channels) once for the header and again
// for every Read of the payload, and goes through two more reader layers;
// this path costs about a microsecond less per message (docs/benchmarks.md).
//
// Any other frame (a control frame, a fragment, RSV bits set, an unmasked
// or oversized frame) is left unread, and coder/websocket's Reader reads it:
// it answers pings, takes part in the close handshake and rejects what the
// protocol forbids, with the close codes it always sent.
//
// coder/websocket reads the connection on one other goroutine: Conn.Close,
// waiting for the client's close frame, under its read lock. The fast path
// does not hold that lock, so before Close runs, finishClose stops it
// (stopFastFrames): the reader leaves the fast path at its next frame and
// reads with coder/websocket's Reader from then on.
//
// corkConn.fastMu is held by the reader across its read, as coder/websocket
// holds its read lock. Nothing else takes it while the socket is open;
// stopFastFrames takes it once, to wait for the reader, after interrupting
// a wait for a header and with a bound on a frame the client left unfinished.

// errFastStop ends a fast-path wait for a frame header once the socket is
// closing (stopFastFrames).
var errFastStop = errors.New("nes: fast frame reading stopped")

// defaultFastStopWait bounds how long stopFastFrames waits for the reader to
// leave the fast path (a client that stopped in the middle of a frame); then
// the connection is dropped. It is the time coder/websocket's Close waits
// for the client's close frame.
const defaultFastStopWait = 5 * time.Second

// readDataFrame reads the next frame if it is a whole data message: FIN set,
// text or binary, no RSV bits, masked, at most limit bytes of payload. ok is
// false, with nothing consumed and no error, for any other frame, and once
// the fast path was stopped. The payload is read into scratch and unmasked
// there; it is valid until scratch is used again.
func (c *corkConn) readDataFrame(scratch *bytes.Buffer, limit int64) (data []byte, ok bool, err error) {
	c.fastMu.Lock()
	defer c.fastMu.Unlock()
	if c.fastStop.Load() {
		return nil, false, nil
	}
	c.headerWait = true
	h, err := c.br.Peek(2)
	if err == nil {
		if h[0]&0xf0 != 0x80 || (h[0]&0x0f != 1 && h[0]&0x0f != 2) || h[1]&0x80 == 0 {
			c.headerWait = false
			return nil, false, nil // not a whole, masked data message
		}
		h, err = c.br.Peek(frameHeaderSize(h[1]))
	}
	c.headerWait = false
	if err != nil {
		if errors.Is(err, errFastStop) {
			return nil, false, nil
		}
		return nil, false, err
	}
	n, okLen := framePayloadLength(h)
	if !okLen || n > limit {
		return nil, false, nil // coder/websocket rejects it with its close code
	}
	key := binary.LittleEndian.Uint32(h[len(h)-4:])
	if _, err := c.br.Discard(len(h)); err != nil {
		return nil, true, err
	}
	scratch.Reset()
	scratch.Grow(int(n))
	buf := scratch.AvailableBuffer()[:n]
	if _, err := io.ReadFull(c.br, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, true, err
	}
	unmask(buf, key)
	return buf, true, nil
}

// frameHeaderSize is the size of a masked frame's header from its second
// byte: 2, the extended length (0, 2 or 8) and the 4-byte masking key.
func frameHeaderSize(b1 byte) int {
	switch b1 & 0x7f {
	case 126:
		return 2 + 2 + 4
	case 127:
		return 2 + 8 + 4
	}
	return 2 + 4
}

// framePayloadLength decodes a frame header's payload length (RFC 6455,
// 5.2). ok is false for a 64-bit length with the top bit set, which the
// RFC forbids.
func framePayloadLength(h []byte) (n int64, ok bool) {
	switch l := h[1] & 0x7f; l {
	case 126:
		return int64(binary.BigEndian.Uint16(h[2:4])), true
	case 127:
		u := binary.BigEndian.Uint64(h[2:10])
		return int64(u), u>>63 == 0
	default:
		return int64(l), true
	}
}

// unmask applies a client frame's masking key (RFC 6455, 5.3) to a payload,
// key holding the key's four bytes in the order they were sent, as a
// little-endian number.
func unmask(b []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k8)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(key >> (8 * (i & 3)))
	}
}

// stopFastFrames makes the reader use coder/websocket's Reader from its next
// frame on, and returns once it no longer reads on the fast path: a reader
// waiting there for a frame header is interrupted with a read deadline in
// the past (deadlinePassed turns it into errFastStop). A reader inside a
// frame finishes it first; if that takes longer than wait, drop is called
// (it closes the connection, which ends the read) and stopFastFrames
// reports false.
func (c *corkConn) stopFastFrames(wait time.Duration, drop func()) bool {
	if c.fastStop.Swap(true) {
		return true
	}
	_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
	t := time.AfterFunc(wait, drop)
	c.fastMu.Lock() // held by a reader on the fast path: wait for it to leave
	c.fastMu.Unlock()
	return t.Stop()
}
