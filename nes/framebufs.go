package nes

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Socket queues take their slices from free lists by size class (8, 16, 32
// … frames) and give them back when they grow or go idle, so a publication
// allocates nothing per subscriber once the lists hold the sizes in use,
// and an idle socket holds no queue memory.
const (
	frameClasses  = 16 // 8 << 15 frames at most per class
	minFrameClass = 3  // 8 frames
	// keptQueueFrames is the queue capacity an idle socket keeps (its two
	// slices together); a larger queue goes back to the free lists.
	keptQueueFrames = 16
	// maxFreeBytes bounds the memory the free lists hold, all classes
	// together: what the queues of a burst to 10,000 subscribers take
	// (200 frames each, two slices of 256 frames of 24 bytes), so that the
	// next burst allocates nothing.
	maxFreeBytes = 128 << 20
	frameBytes   = 24 // unsafe.Sizeof(outFrame{})
)

var frameFree struct {
	mu    sync.Mutex
	lists [frameClasses][][]outFrame
	bytes int // capacity held by the lists, in bytes
}

// frameClass returns the class of a capacity that is a power of two of at
// least 8, or -1.
func frameClass(capacity int) int {
	if capacity < 1<<minFrameClass || capacity&(capacity-1) != 0 {
		return -1
	}
	c := bits.TrailingZeros(uint(capacity)) - minFrameClass
	if c >= frameClasses {
		return -1
	}
	return c
}

// getFrames returns an empty slice with a capacity of at least n frames.
func getFrames(n int) []outFrame {
	capacity := 1 << minFrameClass
	for capacity < n {
		capacity <<= 1
	}

	if c := frameClass(capacity); c >= 0 {
		frameFree.mu.Lock()
		l := frameFree.lists[c]
		if k := len(l); k > 0 {
			s := l[k-1]
			l[k-1] = nil
			frameFree.lists[c] = l[:k-1]
			frameFree.bytes -= cap(s) * frameBytes
			frameFree.mu.Unlock()
			return s
		}
		frameFree.mu.Unlock()
	}
	frameMisses.Add(1)
	return make([]outFrame, 0, capacity)
}

// frameMisses counts the slices getFrames had to allocate; benchmarks warm
// up until it stops growing.
var frameMisses atomic.Int64

// putFrames gives a slice back; its frames must no longer be needed.
func putFrames(s []outFrame) {
	c := frameClass(cap(s))
	if c < 0 {
		return
	}
	s = s[:cap(s)]
	clear(s)
	frameFree.mu.Lock()
	if frameFree.bytes+cap(s)*frameBytes <= maxFreeBytes {
		frameFree.lists[c] = append(frameFree.lists[c], s[:0])
		frameFree.bytes += cap(s) * frameBytes
	}
	frameFree.mu.Unlock()
}

// appendFrame appends f to q, growing it through the free lists.
func appendFrame(q []outFrame, f outFrame) []outFrame {
	if len(q) == cap(q) {
		grown := getFrames(2 * cap(q))
		grown = append(grown, q...)
		if q != nil {
			putFrames(q)
		}
		q = grown
	}
	return append(q, f)
}
