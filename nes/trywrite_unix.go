//go:build unix

package nes

import (
	"errors"
	"syscall"
)

// canTryWrite tells whether tryWrite works on this platform.
const canTryWrite = true

// tryWrite makes one non-blocking attempt to write b on a connection's
// descriptor and returns how much the kernel took; it never waits for the
// connection to become writable.
func tryWrite(rc syscall.RawConn, b []byte) (n int, err error) {
	cerr := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, e := syscall.Write(int(fd), b[n:])
			if k > 0 {
				n += k
			}
			switch {
			case e == nil && k > 0:
				continue
			case errors.Is(e, syscall.EINTR):
				continue
			case errors.Is(e, syscall.EAGAIN):
			case e != nil:
				err = e
			default: // k == 0 without an error: treat as full
			}
			break
		}
		return true // done: do not wait for writability
	})
	if err == nil {
		err = cerr
	}
	return n, err
}
