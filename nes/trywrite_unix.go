//go:build unix

package nes

import (
	"errors"
	"syscall"
)

// canTryWrite tells whether tryWrite works on this platform.
const canTryWrite = true

// tryWrite makes one non-blocking attempt to write b on the connection's
// descriptor and returns how much the kernel took; it never waits for the
// connection to become writable. Called with c.mu held.
func (c *corkConn) tryWrite(b []byte) (int, error) {
	if c.tryWriteFn == nil {
		c.tryWriteFn = c.tryWriteRaw // made once: a closure per call would allocate
	}
	c.twBuf, c.twN, c.twErr = b, 0, nil
	cerr := c.raw.Write(c.tryWriteFn)
	n, err := c.twN, c.twErr
	c.twBuf, c.twErr = nil, nil
	if err == nil {
		err = cerr
	}
	return n, err
}

// tryWriteRaw is tryWrite's callback: it writes c.twBuf until the kernel
// takes no more.
func (c *corkConn) tryWriteRaw(fd uintptr) bool {
	b := c.twBuf
	for c.twN < len(b) {
		k, e := syscall.Write(int(fd), b[c.twN:])
		if k > 0 {
			c.twN += k
		}
		switch {
		case e == nil && k > 0:
			continue
		case errors.Is(e, syscall.EINTR):
			continue
		case errors.Is(e, syscall.EAGAIN):
		case e != nil:
			c.twErr = e
		default: // k == 0 without an error: treat as full
		}
		break
	}
	return true // done: do not wait for writability
}
