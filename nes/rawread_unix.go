//go:build unix

package nes

import (
	"errors"
	"os"
	"syscall"
)

// rawRead is the callback of a chunked corkConn's reads (readChunk): one
// read on the descriptor into a pooled chunk, taken only for the attempt, so
// that a goroutine waiting for the client holds none. It reports false
// (wait for readability) when nothing is there.
func (c *corkConn) rawRead(fd uintptr) bool {
	b := readChunks.Get().(*[]byte)
	for {
		n, err := syscall.Read(int(fd), *b)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			readChunks.Put(b)
			return false
		}
		if n > 0 {
			c.rbuf, c.rdata = b, (*b)[:n]
		} else {
			readChunks.Put(b)
		}
		if err != nil {
			c.rerr = os.NewSyscallError("read", err)
		}
		return true
	}
}
