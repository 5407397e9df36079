//go:build !unix

package nes

import "errors"

// rawRead is unix-only; chunked reads (and parking) are not used elsewhere.
func (c *corkConn) rawRead(uintptr) bool {
	c.rerr = errors.New("nes: no raw reads on this platform")
	return true
}
