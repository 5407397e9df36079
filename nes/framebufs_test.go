package nes

import (
	"testing"
	"unsafe"
)

// The free lists account for their memory with frameBytes.
func TestFrameBytes(t *testing.T) {
	if got := unsafe.Sizeof(outFrame{}); got != frameBytes {
		t.Fatalf("outFrame is %d bytes, frameBytes says %d", got, frameBytes)
	}
}
