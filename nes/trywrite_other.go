//go:build !unix

package nes

import "errors"

// canTryWrite tells whether tryWrite works on this platform: here, shared
// writers bound their writes with a deadline instead.
const canTryWrite = false

func (c *corkConn) tryWrite([]byte) (int, error) {
	return 0, errors.New("nes: no non-blocking write on this platform")
}
