package nes

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// A socket's queue is a list of fixed-size chunks of frames, taken from a
// free list shared by all sockets and given back once written. A queue
// grows without copying, holds memory in proportion to what it holds, and
// once the free list has the chunks a burst needs, a publication allocates
// nothing per subscriber. An idle socket keeps at most one chunk; a parked
// one keeps none.

// chunkFrames is the number of frames a chunk holds: with its count and
// link, a chunk fills a 384-byte allocation.
const chunkFrames = 15

type frameChunk struct {
	frames [chunkFrames]outFrame
	// n is the count of frames once the chunk is full or taken; while it
	// is a queue's tail, the queue counts (frameList.n), so that a push
	// touches the chunk only where the frame goes.
	n    int
	next *frameChunk
}

// maxFreeChunks bounds the chunks the free list holds: 128 MiB, more than
// the queues of a burst of 200 publications to 10,000 subscribers take
// (14 chunks each), so that the next burst allocates nothing.
const maxFreeChunks = 128 << 20 / 384

var chunkFree struct {
	mu   sync.Mutex
	head *frameChunk
	n    int
}

// frameMisses counts the chunks getChunk had to allocate; benchmarks warm up
// until it stops growing.
var frameMisses atomic.Int64

// getChunk returns an empty chunk.
func getChunk() *frameChunk {
	chunkFree.mu.Lock()
	c := chunkFree.head
	if c != nil {
		chunkFree.head = c.next
		chunkFree.n--
		chunkFree.mu.Unlock()
		c.next = nil
		return c
	}
	chunkFree.mu.Unlock()
	frameMisses.Add(1)
	return new(frameChunk)
}

// putChunks gives the chunks of a list back, emptied; past the free list's
// bound the rest goes to the garbage collector.
func putChunks(c *frameChunk) {
	if c == nil {
		return
	}
	emptyChunks(c)
	first, last, n := c, c, 0
	for ; c != nil; c = c.next {
		last = c
		n++
	}
	chunkFree.mu.Lock()
	if chunkFree.n+n <= maxFreeChunks {
		last.next = chunkFree.head
		chunkFree.head = first
		chunkFree.n += n
	}
	chunkFree.mu.Unlock()
}

// frameList is a queue of frames in chunks.
type frameList struct {
	head, tail *frameChunk
	keep       *frameChunk // an empty chunk kept for the next frame
	n          int         // frames in tail
}

func (l *frameList) empty() bool { return l.head == nil }

// push appends f.
func (l *frameList) push(f outFrame) {
	t := l.tail
	if t == nil || l.n == chunkFrames {
		c := l.keep
		if c != nil {
			l.keep = nil
		} else {
			c = getChunk()
		}
		if t == nil {
			l.head = c
		} else {
			t.next = c
		}
		l.tail, t = c, c
		l.n = 0
	}
	// The slot's address without a nil check of t: Go would check by
	// loading t's first word, a cache miss of its own when the slot is in
	// another line (a fan-out finds every queue's tail cold). The store
	// then touches the slot's line alone.
	slot := (*outFrame)(unsafe.Add(unsafe.Pointer(t), uintptr(l.n)*unsafe.Sizeof(outFrame{})))
	*slot = f
	l.n++
	if l.n == chunkFrames {
		t.n = chunkFrames
	}
}

// take removes and returns the queued frames.
func (l *frameList) take() *frameChunk {
	c := l.head
	if l.tail != nil {
		l.tail.n = l.n
	}
	l.head, l.tail, l.n = nil, nil, 0
	return c
}

// emptyChunks empties the chunks of a list taken from a queue, so that they
// hold no frame data; done outside the queue's lock.
func emptyChunks(c *frameChunk) {
	for ; c != nil; c = c.next {
		clear(c.frames[:c.n])
		c.n = 0
	}
}

// keepOne keeps the first chunk of an emptied list for the next frames, if
// the list keeps none, and returns the rest, for putChunks.
func (l *frameList) keepOne(c *frameChunk) *frameChunk {
	if c == nil || l.keep != nil {
		return c
	}
	rest := c.next
	c.next = nil
	l.keep = c
	return rest
}

// release drops the kept chunk: to the garbage collector, not to the free
// list, so that idle sockets do not keep the free list full.
func (l *frameList) release() { l.keep = nil }
