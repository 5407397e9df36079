package nes

import (
	"fmt"
	"testing"
	"unsafe"
)

// A chunk fills a 384-byte allocation (maxFreeChunks counts with it).
func TestFrameChunkSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("chunks are sized for 64-bit frames (24 bytes each)")
	}
	if got := unsafe.Sizeof(frameChunk{}); got > 384 || got+24 <= 384 {
		t.Fatalf("frameChunk is %d bytes; chunkFrames should fill 384", got)
	}
}

// A frame list keeps its frames in order across chunks, reuses the chunk it
// keeps, and gives back emptied chunks.
func TestFrameList(t *testing.T) {
	var l frameList
	frames := make([][]byte, 3*chunkFrames+2)
	for i := range frames {
		frames[i] = []byte(fmt.Sprint(i))
		l.push(outFrame{data: frames[i]})
	}
	batch := l.take()
	if !l.empty() || l.tail != nil {
		t.Fatal("take left frames behind")
	}
	i, chunks := 0, 0
	for c := batch; c != nil; c = c.next {
		chunks++
		for _, f := range c.frames[:c.n] {
			if &f.data[0] != &frames[i][0] {
				t.Fatalf("frame %d out of order", i)
			}
			i++
		}
	}
	if i != len(frames) || chunks != 4 {
		t.Fatalf("%d frames in %d chunks, want %d in 4", i, chunks, len(frames))
	}
	emptyChunks(batch)
	for c := batch; c != nil; c = c.next {
		if c.n != 0 || c.frames[0].data != nil {
			t.Fatal("emptyChunks left frame data")
		}
	}
	rest := l.keepOne(batch)
	if l.keep != batch || rest == nil || batch.next != nil {
		t.Fatal("keepOne did not keep the first chunk alone")
	}
	if again := l.keepOne(rest); again != rest {
		t.Fatal("keepOne kept a second chunk")
	}
	putChunks(rest)
	// The kept chunk takes the next frame.
	l.push(outFrame{data: frames[0]})
	if l.head != batch || l.keep != nil {
		t.Fatal("the kept chunk was not reused")
	}
	l.take()
	l.release()
	if l.keep != nil {
		t.Fatal("release kept a chunk")
	}
}

// putChunks takes no more than the free list's bound.
func TestPutChunksBound(t *testing.T) {
	chunkFree.mu.Lock()
	saved, savedN := chunkFree.head, chunkFree.n
	chunkFree.head, chunkFree.n = nil, maxFreeChunks-1
	chunkFree.mu.Unlock()
	defer func() {
		chunkFree.mu.Lock()
		chunkFree.head, chunkFree.n = saved, savedN
		chunkFree.mu.Unlock()
	}()
	two := &frameChunk{n: 1, next: &frameChunk{}}
	two.frames[0] = outFrame{data: []byte("x")}
	putChunks(two)
	if chunkFree.head != nil || two.frames[0].data != nil {
		t.Fatal("a list over the bound was kept, or not emptied")
	}
	putChunks(&frameChunk{})
	if chunkFree.head == nil || chunkFree.n != maxFreeChunks {
		t.Fatal("a chunk within the bound was not kept")
	}
}

// What a push touches of a socket is in the first 64 bytes of the Socket,
// and Sockets are allocated at multiples of 64 bytes (see outQueue).
func TestQueueLayout(t *testing.T) {
	var s Socket
	if off := unsafe.Offsetof(s.out); off != 0 {
		t.Fatalf("Socket.out at offset %d, want 0", off)
	}
	if end := unsafe.Offsetof(s.out.codec) + 1; end > 64 {
		t.Fatalf("a push's fields end at byte %d of the Socket, past its first cache line", end)
	}
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Logf("size class not checked: the classes below are those of a 64-bit Socket")
		return
	}
	// Size classes of the Go allocator that are multiples of 64 bytes,
	// around a Socket's size: their objects start at multiples of 64.
	switch size := unsafe.Sizeof(s); {
	case size > 416 && size <= 448, size > 480 && size <= 512:
	default:
		t.Fatalf("Socket is %d bytes: its size class is not a multiple of 64 (pad it to 448 or 512)", size)
	}
}

// push computes a slot's address from the chunk's: frames must come first.
func TestFrameChunkFramesFirst(t *testing.T) {
	var c frameChunk
	if unsafe.Offsetof(c.frames) != 0 {
		t.Fatal("frameChunk.frames is not its first field")
	}
}
